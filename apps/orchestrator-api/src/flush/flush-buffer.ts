import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { OrchestratorApiEnv } from '@md/config';
import type { FlushStats } from '@md/contracts';
import { CHUNK_MAX_TICKS, type MdPipeline, type MdRedis } from '@md/pipeline';
import { readyOrTimeout, RedisKeys } from '@md/redis';
import { FLUSH_REDIS } from './flush-redis';
import { FlushMetrics } from './flush.metrics';
import { countedTicksPerEntry, parseEntries, type BufferedTick } from './tick-rows';

export const GROUP = 'flushers';

/**
 * The end of the consumer name of a flusher that reads chunked entries (field `b`). A flusher of
 * an older version read such an entry as unreadable and dead-lettered its ticks: while one of
 * those is live in the group, ingest appends one entry per tick (IngestService.refreshWorkers).
 */
export const CHUNK_READER_MARK = '.chunks';

/**
 * How many entries to ask for to get about a number of ticks, learnt within one read: its first
 * slice assumes full chunks (CHUNK_MAX_TICKS per entry), each next one the size of the entries of
 * the slice before. So a read never asks for a hundred times the ticks it wants on the strength of
 * an earlier read, and a read of one-tick entries costs one round trip more.
 */
class EntrySizes {
  private ticksPerEntry = CHUNK_MAX_TICKS;

  entriesFor(ticks: number): number {
    return Math.max(1, Math.min(SLICE, Math.ceil(ticks / this.ticksPerEntry)));
  }

  learn(entries: number, ticks: number): void {
    if (entries > 0) this.ticksPerEntry = Math.max(1, ticks / entries);
  }
}

/**
 * Ticks per XREADGROUP, XAUTOCLAIM and acknowledgement, about. Redis runs one command at a time,
 * and ingest's commands wait behind the one it is running: 5,000 one-tick entries kept it busy
 * 5–17 ms per command (SLOWLOG), 1,000 about a fifth of that (doc/performance.md, "The flusher's
 * own connection"). An entry holds up to CHUNK_MAX_TICKS ticks (one per ingest chunk), so a
 * slice is SLICE ticks' worth of entries (see entriesFor), and never more than SLICE entries.
 */
const SLICE = 1_000;
/** XAUTOCLAIM scans the group's pending entries: at most this often (a dead flusher's entries have been idle FLUSH_CLAIM_IDLE_MS already). */
const CLAIM_EVERY_MS = 1_000;
/**
 * XAUTOCLAIM's COUNT during a drain, in entries: it scans at most 1,000 pending entries, about
 * 1 ms of Redis (a batch of up to 100 chunks: 10,000 ticks).
 */
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
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}${CHUNK_READER_MARK}`;
  private claimedAt = 0;
  /** Where the next XAUTOCLAIM goes on scanning the pending entries ('0-0': from the start). */
  private claimCursor = '0-0';

  constructor(
    @Inject(FLUSH_REDIS) private readonly redis: MdRedis,
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

  /** Ticks in the stream, acknowledged or not yet deleted (lua/buffer-depth.lua of @md/pipeline). */
  async depth(): Promise<number> {
    const [ticks] = await this.redis.mdBufferDepth(this.keys.buffer(), this.keys.bufferCounts());
    return ticks;
  }

  /**
   * One batch of about FLUSH_MAX_BATCH ticks in whole entries (EntrySizes: it passes it only by
   * part of a slice of larger entries than the slice before): this consumer's own unacknowledged entries first (a
   * flush that failed; skipped with `ownFirst` false, when they are the batch in hand), then
   * entries left idle past FLUSH_CLAIM_IDLE_MS (a dead flusher's, or this one's after a failed
   * acknowledgement: XAUTOCLAIM), then new ones. Read about SLICE ticks at a time. XAUTOCLAIM scans
   * up to ten times its COUNT of the group's pending entries, this flusher's in-flight batches
   * among them (13 ms for 10,000 in SLOWLOG), so it runs at most every CLAIM_EVERY_MS, at most
   * CLAIM_WHILE_DRAINING entries while a backlog drains (the read-ahead), and goes on from where
   * the last one stopped (its cursor) instead of scanning the same first entries again. Each
   * entry's ticks come in order, side by side, with the entry's id.
   */
  async read(ownFirst = true): Promise<BufferedTick[]> {
    const max = this.env.FLUSH_MAX_BATCH;
    if (ownFirst) {
      const own = await this.readGroup('0', max);
      if (own.length) return own;
    }
    if (Date.now() - this.claimedAt >= CLAIM_EVERY_MS) {
      this.claimedAt = Date.now();
      const claimed = await this.claim(ownFirst ? Math.min(max, SLICE) : max, ownFirst ? SLICE : CLAIM_WHILE_DRAINING);
      if (claimed.length) return claimed;
    }
    return this.readGroup('>', max);
  }

  /** About `ticks` ticks of entries idle past FLUSH_CLAIM_IDLE_MS, `entries` entries at most, from the cursor on. */
  private async claim(ticks: number, entries: number): Promise<BufferedTick[]> {
    const sizes = new EntrySizes();
    const rows: BufferedTick[] = [];
    for (let left = entries; rows.length < ticks && left > 0; ) {
      const count = Math.min(left, sizes.entriesFor(ticks - rows.length));
      const [cursor, claimed] = (await this.redis.xautoclaim(
        this.keys.buffer(),
        GROUP,
        this.consumer,
        this.env.FLUSH_CLAIM_IDLE_MS,
        this.claimCursor,
        'COUNT',
        count,
      )) as [string, ([string, string[]] | null)[]];
      this.claimCursor = cursor;
      left -= count;
      const live = claimed.filter((entry): entry is [string, string[]] => entry !== null);
      const parsed = await parseEntries(live);
      sizes.learn(live.length, parsed.length);
      rows.push(...parsed);
      if (cursor === '0-0' || claimed.length === 0) break;
    }
    return rows;
  }

  /**
   * About `max` ticks in whole entries after `from` ('>': new ones; an id: this consumer's
   * pending ones after it), a slice (EntrySizes) per XREADGROUP. A pending entry deleted since it
   * was read (ingest's undo of ticks it answered 503, racing this read) comes back without
   * fields: it is acknowledged here and never written.
   */
  private async readGroup(from: string, max: number): Promise<BufferedTick[]> {
    const stream = this.keys.buffer();
    const rows: BufferedTick[] = [];
    const sizes = new EntrySizes();
    for (let after = from; rows.length < max; ) {
      const count = sizes.entriesFor(Math.min(SLICE, max - rows.length));
      const reply = (await this.redis.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', count, 'STREAMS', stream, after)) as Read;
      const slice = reply?.[0]?.[1] ?? [];
      const deleted = slice.filter(([, fields]) => fields === null).map(([id]) => id);
      if (deleted.length) await this.redis.xack(stream, GROUP, ...deleted);
      const live = slice.filter((entry): entry is [string, string[]] => entry[1] !== null);
      const parsed = await parseEntries(live);
      sizes.learn(live.length, parsed.length);
      rows.push(...parsed);
      if (slice.length < count) break;
      if (after !== '>') after = slice[slice.length - 1][0];
    }
    return rows;
  }

  /**
   * After COMMIT only: deletes the entries `rows` came in and takes their ticks out of the
   * buffer's count (mdBufferRemove), SLICE entries per call. If this fails, the entries stay
   * pending and their re-write is a no-op.
   */
  async acknowledge(rows: readonly BufferedTick[]): Promise<void> {
    const entries = [...countedTicksPerEntry(rows)];
    for (let from = 0; from < entries.length; from += SLICE) {
      const slice = entries.slice(from, from + SLICE).flat();
      await this.redis.mdBufferRemove(this.keys.buffer(), this.keys.bufferCounts(), GROUP, ...slice);
    }
  }

  /**
   * The buffer as GET /pipeline shows it: the ticks and entries not yet acknowledged, how many of
   * the entries a flusher holds (read, not yet committed) and the age of the oldest (from its stream id).
   * Works with FLUSH_ENABLED=false too (no group: 0 pending). The last flush is the loop's to add.
   */
  async stats(): Promise<Omit<FlushStats, 'lastFlushAt'>> {
    const stream = this.keys.buffer();
    // One MULTI: a consistent snapshot. A command error (NOGROUP) does not abort the others.
    const multi = this.redis.multi() as MdPipeline;
    const results = await multi
      .mdBufferDepth(stream, this.keys.bufferCounts())
      .xrange(stream, '-', '+', 'COUNT', 1)
      .xpending(stream, GROUP)
      .exec();
    if (!results) throw new Error('buffer stats: transaction aborted');
    const [[lengthError, depth], [rangeError, first], [pendingError, pending]] = results as [
      [Error | null, [number, number]],
      [Error | null, [string, string[]][]],
      [Error | null, [number, ...unknown[]]],
    ];
    if (lengthError || rangeError) throw lengthError ?? rangeError;
    // No group yet (no flusher has started on this prefix) means nothing pending, not a failure.
    if (pendingError && !pendingError.message.includes('NOGROUP')) throw pendingError;
    return {
      buffered: depth[0],
      entries: depth[1],
      pending: pendingError ? 0 : Number(pending[0] ?? 0),
      oldestBufferedAgeMs: ageMs(first),
    };
  }

  /** Sets the depth and oldest-age gauges (md_flush_buffer_*), at every flush. */
  async observe(): Promise<void> {
    const stream = this.keys.buffer();
    const [ticks, first] = await Promise.all([this.depth(), this.redis.xrange(stream, '-', '+', 'COUNT', 1)]);
    this.metrics.depth.set(ticks);
    this.metrics.oldest.set(ageMs(first) / 1000);
  }
}

/** Age of the first entry of an XRANGE, from its stream id (`<ms>-<seq>`); 0 when there is none. */
function ageMs(first: [string, string[]][]): number {
  const firstMs = first[0] ? Number(first[0][0].split('-')[0]) : undefined;
  return firstMs ? Math.max(0, Date.now() - firstMs) : 0;
}
