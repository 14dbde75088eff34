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

  /** Durable buffer of accepted ticks on their way to Postgres (a stream read by the flushers' group). */
  buffer(): string {
    return `${this.prefix}:buffer:ticks`;
  }

  /**
   * The flush buffer's counts (a hash): `buffered`, the ticks in its entries (an entry holds a
   * chunk of ticks, so XLEN counts entries), and `added`, every tick ever appended. Kept by the
   * pipeline's scripts (libs/pipeline lua/commit.lua, buffer-remove.lua).
   */
  bufferCounts(): string {
    return `${this.prefix}:buffer:ticks:counts`;
  }

  /** Every symbol the ingest has accepted a tick of (a set): what MAX_SYMBOLS counts. */
  symbols(): string {
    return `${this.prefix}:symbols`;
  }

  /** Latest view W of every symbol (hash: symbol → JSON), and their versions (symbol → tickCount). */
  views(): string {
    return `${this.prefix}:views`;
  }

  viewVersions(): string {
    return `${this.prefix}:views:version`;
  }

  /**
   * calc-a's state of a symbol: a hash (count, newest, running sums) and three sorted sets
   * (last 10, window by ts, window by price). The {symbol} hash tag keeps them in one slot.
   */
  calc(symbol: string): { state: string; last: string; window: string; prices: string } {
    const base = `${this.prefix}:calc:{${symbol}}`;
    return { state: `${base}:state`, last: `${base}:last`, window: `${base}:win`, prices: `${base}:px` };
  }
}
