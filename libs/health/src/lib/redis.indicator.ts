import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { REDIS, type MdRedis } from '@md/redis';
import type { ReadinessIndicator } from './health.module';

/** Redis answers PING within the command timeout of the shared connection. */
@Injectable()
export class RedisIndicator implements ReadinessIndicator {
  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async check() {
    const session = this.indicator.check('redis');
    try {
      await this.redis.ping();
      return session.up();
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }
}
