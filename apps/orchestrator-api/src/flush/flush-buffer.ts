import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { OrchestratorApiEnv } from '@md/config';
import type { FlushStats } from '@md/contracts';
import type { Redis } from 'ioredis';
import { readyOrTimeout, RedisKeys } from '@md/redis';
import { FLUSH_REDIS } from './flush-redis';
import { FlushMetrics } from './flush.metrics';
import { parseEntries, type BufferedTick } from './tick-rows';

export const GROUP = 'flushers';

/**
 * Entries per XREADGROUP, XAUTOCLAIM and acknowledgement. Redis runs one command at a time, and
 * ingest's commands wait behind the one it is running: 5,000 entries kept it busy 5–17 ms per
 * command (SLOWLOG), 1,000 about a fifth of that (doc/performance.md, "The flusher's own connection").
 */
const SLICE = 1_000;
/** XAUTOCLAIM scans the group's pending entries: at most this often (a dead flusher's entries have been idle FLUSH_CLAIM_IDLE_MS already). */
const CLAIM_EVERY_MS = 1_000;
/** XAUTOCLAIM's COUNT during a drain: it scans at most 1,000 pending entries, about 1 ms of Redis. */
const CLAIM_WHILE_DRAINING = 100;

/** An XREADGROUP reply; an entry's fields are null when it was deleted while pending. */
type Read = [string, [string, string[] | null][]][] | null;

/**
 * The flusher's side of the Redis buffer (the stream ingest appends to): the consumer group
 * `flushers`, this process's consumer in it, reading batches, acknowledging them, and the
 * buffer's depth and age, on the flusher's own connection (flush-redis.ts). Knows nothing of
 * Postgres: when to acknowledge is the caller's decision (after COMMIT only).
 */
@Injectable()
export class FlushBuffer {
  /** One per process, new at every start: a dead process's pending entries are never read as its successor's own. */
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private claimedAt = 0;
  /** Where the next XAUTOCLAIM goes on scanning the pending entries ('0-0': from the start). */
  private claimCursor = '0-0';

  constructor(
    @Inject(FLUSH_REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly env: OrchestratorApiEnv,
    private readonly metrics: FlushMetrics,
  ) {}

  /**
   * Creates the group (and the stream) when missing; an existing group is kept. Waits up to 3 s
   * for the connection first (it is not awaited at boot: flush-redis.ts). Throws when Redis does
   * not answer.
   */
  async createGroup(): Promise<void> {
    await readyOrTimeout(this.redis);
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
   * entries left idle past FLUSH_CLAIM_IDLE_MS (a dead flusher's, or this one's after a failed
   * acknowledgement: XAUTOCLAIM), then new ones. Read SLICE entries at a time. XAUTOCLAIM scans
   * up to ten times its COUNT of the group's pending entries, this flusher's in-flight batches
   * among them (13 ms for 10,000 in SLOWLOG), so it runs at most every CLAIM_EVERY_MS, with a
   * small COUNT while a backlog drains (the read-ahead), and goes on from where the last one
   * stopped (its cursor) instead of scanning the same first entries again.
   */
  async read(ownFirst = true): Promise<BufferedTick[]> {
    const max = this.env.FLUSH_MAX_BATCH;
    if (ownFirst) {
      const own = await this.readGroup('0', max);
      if (own.length) return parseEntries(own);
    }
    if (Date.now() - this.claimedAt >= CLAIM_EVERY_MS) {
      this.claimedAt = Date.now();
      const [cursor, claimed] = (await this.redis.xautoclaim(
        this.keys.buffer(),
        GROUP,
        this.consumer,
        this.env.FLUSH_CLAIM_IDLE_MS,
        this.claimCursor,
        'COUNT',
        ownFirst ? Math.min(max, SLICE) : CLAIM_WHILE_DRAINING,
      )) as [string, [string, string[]][]];
      this.claimCursor = cursor;
      const live = claimed.filter((entry) => entry !== null);
      if (live.length) return parseEntries(live);
    }
    return parseEntries(await this.readGroup('>', max));
  }

  /**
   * Up to `max` entries after `from` ('>': new ones; an id: this consumer's pending ones after
   * it), SLICE per XREADGROUP. A pending entry deleted since it was read (ingest's undo of a
   * tick it answered 503, racing this read) comes back without fields: it is acknowledged here
   * and never written.
   */
  private async readGroup(from: string, max: number): Promise<[string, string[]][]> {
    const stream = this.keys.buffer();
    const entries: [string, string[]][] = [];
    for (let after = from, read = 0; read < max; ) {
      const count = Math.min(SLICE, max - read);
      const reply = (await this.redis.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', count, 'STREAMS', stream, after)) as Read;
      const slice = reply?.[0]?.[1] ?? [];
      read += slice.length;
      const deleted = slice.filter(([, fields]) => fields === null).map(([id]) => id);
      if (deleted.length) await this.redis.xack(stream, GROUP, ...deleted);
      for (const [id, fields] of slice) if (fields !== null) entries.push([id, fields]);
      if (slice.length < count) break;
      if (after !== '>') after = slice[slice.length - 1][0];
    }
    return entries;
  }

  /** After COMMIT only, SLICE entries per MULTI. If this fails, the entries stay pending and their re-write is a no-op. */
  async acknowledge(ids: string[]): Promise<void> {
    const stream = this.keys.buffer();
    for (let from = 0; from < ids.length; from += SLICE) {
      const slice = ids.slice(from, from + SLICE);
      await this.redis
        .multi()
        .xack(stream, GROUP, ...slice)
        .xdel(stream, ...slice)
        .exec();
    }
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
