import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { backoffMs } from '@md/common';
import { ServiceEnv } from '@md/config';
import { defineScripts, type MdRedis } from '@md/pipeline/scripts';
import { RedisKeys } from './redis-keys';
import { RealtimePublisher } from './realtime-publisher';
import { REDIS } from './tokens';

/**
 * Options of a command connection that fails fast: when Redis is away, commands reject at
 * once (no offline queue) or after REDIS_COMMAND_TIMEOUT_MS, so callers can answer 503
 * instead of hanging. Reconnection goes on in the background.
 */
export function failFastOptions(env: ServiceEnv): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: env.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 5_000,
    // 100 ms doubling to 1.6 s (ioredis counts `times` from 1).
    retryStrategy: (times) => backoffMs(times, { baseMs: 50, maxMs: 1_600 }),
  };
}

/**
 * ioredis options for REDIS_URL, for libraries that create and close their own connections
 * from options (BullMQ workers): redis[s]://[user[:password]@]host[:port][/db].
 */
export function redisOptionsFromUrl(redisUrl: string): RedisOptions {
  const url = new URL(redisUrl);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 6379),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: Number(url.pathname.slice(1) || 0),
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
}

export function createRedis(env: ServiceEnv, name: string, overrides: RedisOptions = {}): Redis {
  const client = new Redis(env.REDIS_URL, { connectionName: `md-${name}`, ...failFastOptions(env), ...overrides });
  // Connection errors surface through readiness and the commands that fail; an 'error'
  // listener keeps them from crashing the process as unhandled events.
  const logger = new Logger(`redis:${name}`);
  let lastLogged = 0;
  client.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastLogged > 5_000) {
      lastLogged = now;
      logger.warn(`redis connection problem: ${error.message}`);
    }
  });
  return client;
}

/**
 * Resolves when the client is ready, or after `ms` whatever its state: a service boots and
 * reports not-ready rather than refusing to start while Redis is away.
 */
export function readyOrTimeout(client: Redis, ms = 3_000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    client.once('ready', done);
    function done() {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    }
  });
}

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: MdRedis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

@Global()
@Module({
  providers: [
    RedisKeys,
    {
      provide: REDIS,
      inject: [ServiceEnv],
      useFactory: async (env: ServiceEnv): Promise<MdRedis> => {
        const client = defineScripts(createRedis(env, 'commands'));
        await readyOrTimeout(client);
        return client;
      },
    },
    RedisCloser,
    RealtimePublisher,
  ],
  exports: [REDIS, RedisKeys, RealtimePublisher],
})
export class RedisModule {}
