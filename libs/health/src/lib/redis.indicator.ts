import { Inject, Injectable, Logger } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { REDIS, type MdRedis } from '@md/redis';
import type { ReadinessIndicator } from './health.module';

/**
 * Redis answers PING within the command timeout of the shared connection. Readiness is
 * public, so a failure is answered with a generic reason; the driver's message (host, port,
 * error code) goes to the log, once per change rather than once per probe.
 */
@Injectable()
export class RedisIndicator implements ReadinessIndicator {
  private readonly logger = new Logger('health');
  private lastLogged?: string;

  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async check() {
    const session = this.indicator.check('redis');
    try {
      await this.redis.ping();
      this.lastLogged = undefined;
      return session.up();
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this.lastLogged) this.logger.warn(`redis not ready: ${message}`);
      this.lastLogged = message;
      return session.down({ reason: /timed? ?out/i.test(message) ? 'timeout' : 'unreachable' });
    }
  }
}
