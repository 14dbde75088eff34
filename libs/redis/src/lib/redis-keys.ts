import { Injectable } from '@nestjs/common';
import { ServiceEnv } from '@md/config';

/**
 * Every Redis key and channel name of the system, derived from REDIS_PREFIX and
 * PUBSUB_CHANNEL, so that test runs and deployments sharing a server never collide.
 */
@Injectable()
export class RedisKeys {
  readonly prefix: string;
  readonly channel: string;
  /** BullMQ's own key prefix; its queues live under `<prefix>:bull:<queue>:*`. */
  readonly bullPrefix: string;

  constructor(env: ServiceEnv) {
    this.prefix = env.REDIS_PREFIX;
    this.channel = env.PUBSUB_CHANNEL;
    this.bullPrefix = `${env.REDIS_PREFIX}:bull`;
  }

  /** Remembers an accepted event_id for DEDUPE_TTL_S. */
  dedupe(eventId: string): string {
    return `${this.prefix}:dedupe:${eventId}`;
  }

  /** Capped stream holding the recent messages of the realtime channel, ids = seq. */
  history(): string {
    return `${this.prefix}:history:${this.channel}`;
  }
}
