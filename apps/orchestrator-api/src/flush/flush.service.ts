import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { QueryRunner } from 'typeorm';
import { OrchestratorApiEnv } from '@md/config';
import type { ReceivedTick } from '@md/contracts';
import { REDIS, RedisKeys, type MdRedis } from '@md/redis';
import { DatabaseService } from '../database/database.service';
import { StorageMaintenanceService } from '../database/storage-maintenance.service';
import {
  BUFFER_DEPTH,
  BUFFER_OLDEST,
  FLUSH_BATCH,
  FLUSH_DURATION,
  FLUSH_FAILURES,
  FLUSH_ROWS,
  INGEST_TO_ROW,
} from './flush.metrics';
import { columns, INSERT_NEW_TICKS, INSERT_TICKS, parseEntries, type BufferedTick } from './tick-rows';

const GROUP = 'flushers';

export interface BufferStats {
  buffered: number;
  pending: number;
  oldestBufferedAgeMs: number;
  lastFlushAt?: number;
}
const POLL_MS = 50;

/** What a batch's transaction did: new rows, rows that existed already, rows refused (dead letters), rows past retention. */
interface Written {
  inserted: number;
  existing: number;
  deadLetters: number;
  expired: number;
}

/**
 * FlushModule: moves accepted ticks from the Redis buffer (a stream, read through the
 * consumer group `flushers`) to Postgres. Never on the ingest path.
 *
 * A batch is written in ONE transaction (INSERT … SELECT FROM unnest … ON CONFLICT
 * (event_id, ts) DO NOTHING, and the candles of the rows written) and acknowledged (XACK +
 * XDEL) only after COMMIT. Hence:
 *  - a flusher that dies before COMMIT leaves its batch pending in the group, under its own
 *    consumer name (one per process): any flusher, a replica or the restarted process,
 *    claims it once it has been idle FLUSH_CLAIM_IDLE_MS (XAUTOCLAIM);
 *  - a flusher that dies between COMMIT and acknowledgement causes a re-write that the
 *    primary key turns into a no-op;
 *  - several replicas share the stream through the group: each entry goes to one of them.
 * Postgres away: nothing is acknowledged, the buffer holds, flushes retry with backoff. A row
 * Postgres refuses is isolated (savepoints) into md_ticks_dead_letter; the rest commits.
 */
@Injectable()
export class FlushService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('flush');
  private readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private running = false;
  private loop?: Promise<void>;
  private failures = 0;
  lastError?: string;
  lastFlushAt?: number;

  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly keys: RedisKeys,
    private readonly database: DatabaseService,
    private readonly storage: StorageMaintenanceService,
    private readonly env: OrchestratorApiEnv,
    @InjectMetric(FLUSH_ROWS) private readonly rows: Counter<string>,
    @InjectMetric(FLUSH_FAILURES) private readonly failuresTotal: Counter<string>,
    @InjectMetric(FLUSH_BATCH) private readonly batchSize: Histogram<string>,
    @InjectMetric(FLUSH_DURATION) private readonly duration: Histogram<string>,
    @InjectMetric(INGEST_TO_ROW) private readonly ingestToRow: Histogram<string>,
    @InjectMetric(BUFFER_DEPTH) private readonly depth: Gauge<string>,
    @InjectMetric(BUFFER_OLDEST) private readonly oldest: Gauge<string>,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.env.FLUSH_ENABLED) return;
    this.running = true;
    this.loop = this.run();
  }

  /** SIGTERM: stop the loop, then a final flush of what is buffered (bounded in time). */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.loop;
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const flushed = await this.flushOnce().catch(() => -1);
      if (flushed <= 0) break;
    }
  }

  private async run(): Promise<void> {
    await this.ensureGroup();
    let last = Date.now();
    while (this.running) {
      await sleep(POLL_MS);
      const waiting = await this.redis.xlen(this.keys.buffer()).catch(() => 0);
      if (Date.now() - last < this.env.FLUSH_INTERVAL_MS && waiting < this.env.FLUSH_MAX_BATCH) continue;
      last = Date.now();
      try {
        await this.drain();
        this.failures = 0;
        this.lastError = undefined;
      } catch (error) {
        this.failures += 1;
        this.failuresTotal.inc();
        this.lastError = (error as Error).message;
        // Redis lost the stream and its group (a restart without persistence): recreate them.
        if (this.lastError.includes('NOGROUP')) await this.ensureGroup();
        if (this.failures === 1 || this.failures % 20 === 0) this.logger.warn({ err: this.lastError, failures: this.failures }, 'flush failed; retrying');
        await sleep(Math.min(100 * 2 ** Math.min(this.failures, 6), 5_000));
      }
    }
  }

  private async ensureGroup(): Promise<void> {
    while (this.running) {
      try {
        await this.redis.xgroup('CREATE', this.keys.buffer(), GROUP, '0', 'MKSTREAM');
        return;
      } catch (error) {
        if ((error as Error).message.includes('BUSYGROUP')) return;
        await sleep(500);
      }
    }
  }

  /**
   * One batch: this consumer's own unacknowledged entries first (a flush that failed), then
   * entries a dead flusher left (idle past FLUSH_CLAIM_IDLE_MS), then new ones. Resolves to
   * the number of entries handled.
   */
  async flushOnce(): Promise<number> {
    const started = performance.now();
    return this.commitBatch(await this.read(), started);
  }

  /**
   * Flushes batches for as long as they come back full, so a backlog (after an outage, or
   * above FLUSH_MAX_BATCH per interval) drains at full speed. Redis and Postgres then work at
   * the same time: the next batch is read and parsed while this one is written (bench:
   * doc/performance.md). Each batch is still acknowledged only after its own COMMIT. After a
   * failure, batches read and not acknowledged stay pending for this consumer, and the next
   * flush takes them first (read: own pending entries first).
   */
  private async drain(): Promise<void> {
    let started = performance.now();
    let entries = await this.read();
    for (;;) {
      // This consumer's pending entries are the batch in hand: the next read takes only
      // abandoned and new ones. Marked handled at once: it may fail while the write runs.
      const nextStarted = performance.now();
      const next = entries.length >= this.env.FLUSH_MAX_BATCH && this.running ? this.read(false) : undefined;
      next?.catch(() => undefined);
      try {
        await this.commitBatch(entries, started);
      } finally {
        // A failed read surfaces below, or (after a failed write) with the next flush.
        await next?.catch(() => undefined);
      }
      if (!next || !this.running) return;
      entries = await next;
      started = nextStarted;
    }
  }

  /** Writes a batch (read since `started`) in one transaction, then acknowledges it; resolves to its size. */
  private async commitBatch(entries: BufferedTick[], started: number): Promise<number> {
    await this.observeBuffer();
    if (entries.length === 0) return 0;
    // Never wait here for a connection (a shutdown would wait behind it): the database
    // service reconnects in the background; until then the batch stays pending.
    if (!this.database.isConnected) throw new Error(`Postgres not connected: ${this.database.lastError ?? 'connecting'}`);
    const written = await this.write(entries);
    await this.acknowledge(entries.map((e) => e.id));
    this.lastFlushAt = Date.now();
    this.batchSize.observe(entries.length);
    this.duration.observe((performance.now() - started) / 1000);
    this.rows.inc({ result: 'written' }, written.inserted);
    this.rows.inc({ result: 'existing' }, written.existing);
    if (written.deadLetters) this.rows.inc({ result: 'dead_letter' }, written.deadLetters);
    if (written.expired) this.rows.inc({ result: 'expired' }, written.expired);
    return entries.length;
  }

  private async read(ownFirst = true): Promise<BufferedTick[]> {
    const max = this.env.FLUSH_MAX_BATCH;
    const stream = this.keys.buffer();
    type Read = [string, [string, string[]][]][] | null;
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

  /**
   * A batch with a tick inside the covered range whose partition is missing (dropped by hand)
   * fails every retry: run a create-only pass, then write again; rows that still find no
   * partition are then dead-lettered rather than stalling the buffer.
   */
  private async write(entries: BufferedTick[]): Promise<Written> {
    try {
      return await this.writeOnce(entries, false);
    } catch (error) {
      if (!isNoPartition(error)) throw error;
      this.logger.warn({ err: (error as Error).message }, 'a partition is missing: creating the missing ones, then writing again');
      // Only a day that cannot exist (it overlaps a hand-attached table) sends its rows to the
      // dead letters; a pass that failed for a passing reason (a lock, a lost connection) leaves
      // the batch in the buffer for the next attempt, as any other database failure does.
      const repair = await this.storage.cover(Infinity, true).catch(() => undefined);
      if (!repair?.ran || repair.createRetryable) throw error;
      return this.writeOnce(entries, true);
    }
  }

  /** `homelessIsRowFault`: a row with no partition is dead-lettered (after a repair pass), not retried. */
  private async writeOnce(entries: BufferedTick[], homelessIsRowFault: boolean): Promise<Written> {
    // Past RETENTION_DAYS (ingest refuses such ticks: these aged out while buffered): its
    // partition is dropped (or about to be); writing it would only recreate what retention
    // removes. Counted as expired, acknowledged, not written.
    const horizon = this.storage.horizon() ?? -Infinity;
    const ticks = entries.filter((e) => e.tick).map((e) => e.tick as ReceivedTick);
    const current = ticks.filter((t) => t.ts >= horizon);
    const expired = ticks.length - current.length;
    // Partitions up to the newest tick first (a pass only when the last one did not reach it).
    if (current.length) await this.storage.cover(Math.max(...current.map((t) => t.ts)));
    // Older than the oldest partition (RETENTION_DAYS set to 0 after the oldest was dropped):
    // no partition to go to; kept as dead letters rather than blocking the buffer.
    const homeless = current.filter((t) => t.ts < this.storage.coveredFrom);
    const readable = current.filter((t) => t.ts >= this.storage.coveredFrom);
    const runner = this.database.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const unreadable = entries.filter((e) => !e.tick);
      for (const bad of unreadable) await this.deadLetter(runner, undefined, bad.raw, 'unreadable buffer entry');
      for (const tick of homeless) await this.deadLetter(runner, tick.event_id, JSON.stringify(tick), 'no partition: ts is before the oldest partition of md_ticks');
      let refused = 0;
      let inserted: number;
      try {
        await runner.query('SAVEPOINT batch');
        inserted = await this.insertBatch(runner, readable);
      } catch (error) {
        if (!isDataError(error, homelessIsRowFault)) throw error;
        // A poison row: roll the batch back to the savepoint and write row by row, each under
        // its own savepoint, so only the refused rows go to the dead-letter table.
        await runner.query('ROLLBACK TO SAVEPOINT batch');
        inserted = 0;
        for (const tick of readable) {
          await runner.query('SAVEPOINT row');
          try {
            inserted += await this.insert(runner, [tick]);
          } catch (rowError) {
            if (!isDataError(rowError, homelessIsRowFault)) throw rowError;
            await runner.query('ROLLBACK TO SAVEPOINT row');
            await this.deadLetter(runner, tick.event_id, JSON.stringify(tick), (rowError as Error).message);
            refused += 1;
          }
        }
      }
      if (this.env.FLUSH_FAULT === 'crash-before-commit') process.kill(process.pid, 'SIGKILL');
      await runner.commitTransaction();
      if (this.env.FLUSH_FAULT === 'crash-after-commit') process.kill(process.pid, 'SIGKILL');
      const now = Date.now();
      for (const tick of readable) this.ingestToRow.observe((now - tick.receivedAt) / 1000);
      return { inserted, existing: readable.length - inserted - refused, deadLetters: unreadable.length + homeless.length + refused, expired };
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }

  /**
   * The batch (and its candles) in one statement, after SAVEPOINT batch: as new rows first, which Postgres writes
   * about a quarter faster than with ON CONFLICT (no speculative insertion; bench:
   * doc/performance.md); only when a row exists already (a batch written again after a crash
   * between COMMIT and acknowledgement) again with ON CONFLICT DO NOTHING.
   */
  private async insertBatch(runner: QueryRunner, ticks: ReceivedTick[]): Promise<number> {
    if (ticks.length === 0) return 0;
    const params = columns(ticks);
    try {
      return inserted(await runner.query(INSERT_NEW_TICKS, params));
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      await runner.query('ROLLBACK TO SAVEPOINT batch');
      return inserted(await runner.query(INSERT_TICKS, params));
    }
  }

  private async insert(runner: QueryRunner, ticks: ReceivedTick[]): Promise<number> {
    if (ticks.length === 0) return 0;
    return inserted(await runner.query(INSERT_TICKS, columns(ticks)));
  }

  private deadLetter(runner: QueryRunner, eventId: string | undefined, payload: string, error: string): Promise<unknown> {
    // A re-written batch (crash between COMMIT and acknowledgement) adds no second dead letter.
    return runner.query(
      `INSERT INTO md_ticks_dead_letter (event_id, payload, error) VALUES ($1, $2, $3)
       ON CONFLICT (event_id) WHERE event_id IS NOT NULL DO NOTHING`,
      [eventId ?? null, payload, error],
    );
  }

  /** After COMMIT only. If this fails, the entries stay pending and their re-write is a no-op. */
  private async acknowledge(ids: string[]): Promise<void> {
    await this.redis.multi().xack(this.keys.buffer(), GROUP, ...ids).xdel(this.keys.buffer(), ...ids).exec();
  }

  /**
   * The buffer as GET /pipeline shows it: entries not yet acknowledged, how many of them a
   * flusher holds (read, not yet committed), the age of the oldest (from its stream id) and
   * this process's last committed flush. Works with FLUSH_ENABLED=false too (no group: 0 pending).
   */
  async bufferStats(): Promise<BufferStats> {
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
    const firstMs = first[0] ? Number(first[0][0].split('-')[0]) : undefined;
    return {
      buffered: length,
      pending: pendingError ? 0 : Number(pending[0] ?? 0),
      oldestBufferedAgeMs: firstMs ? Math.max(0, Date.now() - firstMs) : 0,
      lastFlushAt: this.lastFlushAt,
    };
  }

  private async observeBuffer(): Promise<void> {
    const stream = this.keys.buffer();
    const [length, first] = await Promise.all([this.redis.xlen(stream), this.redis.xrange(stream, '-', '+', 'COUNT', 1)]);
    this.depth.set(length);
    const firstMs = first[0] ? Number(first[0][0].split('-')[0]) : undefined;
    this.oldest.set(firstMs ? Math.max(0, (Date.now() - firstMs) / 1000) : 0);
  }
}

const UNIQUE_VIOLATION = '23505';

function sqlState(error: unknown): string | undefined {
  return (error as { code?: string; driverError?: { code?: string } }).driverError?.code ?? (error as { code?: string }).code;
}

/**
 * SQLSTATE classes 22 (data exception) and 23 (integrity) except unique_violation: the row's
 * fault. Except a row with no partition (23514 too): a partition not created yet (a race with
 * maintenance) is the database's state, not the row's; the batch is retried.
 */
function isDataError(error: unknown, homelessIsRowFault = false): boolean {
  const code = sqlState(error);
  if (isNoPartition(error) && !homelessIsRowFault) return false;
  return typeof code === 'string' && (code.startsWith('22') || (code.startsWith('23') && code !== UNIQUE_VIOLATION));
}

function isNoPartition(error: unknown): boolean {
  return (error as Error).message?.includes('no partition of relation') ?? false;
}

/** Ticks the write statement (tick-rows.ts) inserted. */
const inserted = (rows: unknown) => (rows as [{ inserted: number }])[0]?.inserted ?? 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
