import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { OrchestratorApiEnv } from '@md/config';
import type { FlushStats } from '@md/contracts';
import { REDIS, RedisKeys, type MdRedis } from '@md/redis';
import { FlushMetrics } from './flush.metrics';
import { parseEntries, type BufferedTick } from './tick-rows';

export const GROUP = 'flushers';

type Read = [string, [string, string[]][]][] | null;

/**
 * The flusher's side of the Redis buffer (the stream ingest appends to): the consumer group
 * `flushers`, this process's consumer in it, reading batches, acknowledging them, and the
 * buffer's depth and age. Knows nothing of Postgres: when to acknowledge is the caller's
 * decision (after COMMIT only).
 */
@Injectable()
export class FlushBuffer {
  /** One per process, new at every start: a dead process's pending entries are never read as its successor's own. */
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly keys: RedisKeys,
    private readonly env: OrchestratorApiEnv,
    private readonly metrics: FlushMetrics,
  ) {}

  /** Creates the group (and the stream) when missing; an existing group is kept. Throws when Redis does not answer. */
  async createGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.keys.buffer(), GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error as Error).message.includes('BUSYGROUP')) throw error;
    }
  }

  /** Entries in the stream (XLEN), acknowledged or not yet deleted. */
  length(): Promise<number> {
    return this.redis.xlen(this.keys.buffer());
  }

  /**
   * One batch of up to FLUSH_MAX_BATCH: this consumer's own unacknowledged entries first (a
   * flush that failed; skipped with `ownFirst` false, when they are the batch in hand), then
   * entries a dead flusher left (idle past FLUSH_CLAIM_IDLE_MS, XAUTOCLAIM), then new ones.
   */
  async read(ownFirst = true): Promise<BufferedTick[]> {
    const max = this.env.FLUSH_MAX_BATCH;
    const stream = this.keys.buffer();
    if (ownFirst) {
      const own = (await this.redis.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', max, 'STREAMS', stream, '0')) as Read;
      if (own?.[0]?.[1].length) return parseEntries(own[0][1]);
    }
    const [, claimed] = (await this.redis.xautoclaim(stream, GROUP, this.consumer, this.env.FLUSH_CLAIM_IDLE_MS, '0-0', 'COUNT', max)) as [
      string,
      [string, string[]][],
    ];
    const live = claimed.filter((entry) => entry !== null);
    if (live.length) return parseEntries(live);
    const fresh = (await this.redis.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', max, 'STREAMS', stream, '>')) as Read;
    return parseEntries(fresh?.[0]?.[1] ?? []);
  }

  /** After COMMIT only. If this fails, the entries stay pending and their re-write is a no-op. */
  async acknowledge(ids: string[]): Promise<void> {
    await this.redis
      .multi()
      .xack(this.keys.buffer(), GROUP, ...ids)
      .xdel(this.keys.buffer(), ...ids)
      .exec();
  }

  /**
   * The buffer as GET /pipeline shows it: entries not yet acknowledged, how many of them a
   * flusher holds (read, not yet committed) and the age of the oldest (from its stream id).
   * Works with FLUSH_ENABLED=false too (no group: 0 pending). The last flush is the loop's to add.
   */
  async stats(): Promise<Omit<FlushStats, 'lastFlushAt'>> {
    const stream = this.keys.buffer();
    // One MULTI: a consistent snapshot. A command error (NOGROUP) does not abort the others.
    const results = await this.redis.multi().xlen(stream).xrange(stream, '-', '+', 'COUNT', 1).xpending(stream, GROUP).exec();
    if (!results) throw new Error('buffer stats: transaction aborted');
    const [[lengthError, length], [rangeError, first], [pendingError, pending]] = results as [
      [Error | null, number],
      [Error | null, [string, string[]][]],
      [Error | null, [number, ...unknown[]]],
    ];
    if (lengthError || rangeError) throw lengthError ?? rangeError;
    // No group yet (no flusher has started on this prefix) means nothing pending, not a failure.
    if (pendingError && !pendingError.message.includes('NOGROUP')) throw pendingError;
    return {
      buffered: length,
      pending: pendingError ? 0 : Number(pending[0] ?? 0),
      oldestBufferedAgeMs: ageMs(first),
    };
  }

  /** Sets the depth and oldest-age gauges (md_flush_buffer_*), at every flush. */
  async observe(): Promise<void> {
    const stream = this.keys.buffer();
    const [length, first] = await Promise.all([this.redis.xlen(stream), this.redis.xrange(stream, '-', '+', 'COUNT', 1)]);
    this.metrics.depth.set(length);
    this.metrics.oldest.set(ageMs(first) / 1000);
  }
}

/** Age of the first entry of an XRANGE, from its stream id (`<ms>-<seq>`); 0 when there is none. */
function ageMs(first: [string, string[]][]): number {
  const firstMs = first[0] ? Number(first[0][0].split('-')[0]) : undefined;
  return firstMs ? Math.max(0, Date.now() - firstMs) : 0;
}
