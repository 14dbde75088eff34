import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { ServiceEnv } from '@md/config';
import { defineScripts, type MdRedis } from '@md/pipeline';
import { createRedis } from '@md/redis';

/**
 * The flusher's own Redis connection. A batch is thousands of entries: reading one is a reply of
 * about 1.5 MB at the default FLUSH_MAX_BATCH, and acknowledging it a command of 10,000
 * arguments. On the command connection every ingest command queued behind them would wait for
 * them to cross the socket and be parsed (Redis answers a connection's commands in order); on a
 * connection of its own, ingest passes them by (doc/performance.md, "The flusher's own
 * connection"). Same fail-fast options and the pipeline's scripts (the buffer's depth and
 * removal); closed after the final flush (onApplicationShutdown runs after FlushService's
 * beforeApplicationShutdown).
 */
export const FLUSH_REDIS = Symbol('FLUSH_REDIS');

export const flushRedisProvider: Provider = {
  provide: FLUSH_REDIS,
  inject: [ServiceEnv],
  // Not awaited ready here: FlushBuffer.createGroup, the loop's first step, waits for it, so boot
  // does not wait for Redis a second time.
  useFactory: (env: ServiceEnv): MdRedis => defineScripts(createRedis(env, 'flush')),
};

@Injectable()
export class FlushRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(FLUSH_REDIS) private readonly redis: MdRedis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
