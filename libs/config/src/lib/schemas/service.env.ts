import { DEFAULT_PUBSUB_CHANNEL } from '@md/contracts';
import { EnvInt, EnvOneOf, EnvPort, EnvString, EnvUrl } from '../decorators';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const NODE_ENVS = ['production', 'development', 'test'] as const;

/**
 * What every process reads. Subclasses add their own variables and override defaults (each
 * app has its own PORT default). Nothing outside the config lib reads process.env.
 */
export class BaseEnv {
  @EnvOneOf(NODE_ENVS)
  NODE_ENV: (typeof NODE_ENVS)[number] = 'production';

  @EnvOneOf(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  @EnvString({ max: 255 })
  HOST: string = '0.0.0.0';

  @EnvPort()
  PORT: number = 3000;
}

/** What every service of the pipeline reads: BaseEnv plus Redis and the realtime channel. */
export class ServiceEnv extends BaseEnv {
  @EnvUrl(['redis', 'rediss'])
  REDIS_URL: string = 'redis://127.0.0.1:6379';

  /**
   * Prefix of every Redis key and BullMQ queue of this deployment. Deployments sharing a
   * server need distinct prefixes and distinct PUBSUB_CHANNELs (channels are not keys).
   */
  @EnvString({ max: 64, pattern: /^[A-Za-z0-9_.-]+$/, hint: 'letters, digits, _ . -' })
  REDIS_PREFIX: string = 'md';

  @EnvString({ max: 128 })
  PUBSUB_CHANNEL: string = DEFAULT_PUBSUB_CHANNEL;

  /** Messages kept in the capped history stream beside the channel (gap-free resume). */
  @EnvInt(100, 10_000_000)
  STREAM_HISTORY: number = 10_000;

  /** Milliseconds after which a Redis command counts as failed (the ingest answers 503). */
  @EnvInt(50, 60_000)
  REDIS_COMMAND_TIMEOUT_MS: number = 2_000;
}
