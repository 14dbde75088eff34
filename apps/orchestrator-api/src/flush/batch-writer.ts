import { Inject, Injectable, Logger } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { ReceivedTick } from '@md/contracts';
import { DatabaseService } from '../database/database.service';
import { StorageMaintenanceService } from '../database/storage-maintenance.service';
import { FLUSH_FAULTS, type FlushFaults } from './flush-faults';
import { FlushMetrics } from './flush.metrics';
import { copyable, TickCopy } from './tick-copy';
import { columns, INSERT_TICKS, MERGE_MINUTE_BARS, minuteBarColumns, uniqueByEventId, type BufferedTick } from './tick-rows';

/** What a batch's transaction did: new rows, rows that existed already, rows refused (dead letters), rows past retention. */
export interface Written {
  inserted: number;
  existing: number;
  deadLetters: number;
  expired: number;
}

/**
 * Writes one batch of buffered ticks to Postgres in ONE transaction: the rows by COPY and then
 * their candles, or, when a row exists already, INSERT … SELECT FROM unnest … ON CONFLICT
 * (event_id, ts) DO NOTHING with the candles of the rows written.
 * Knows nothing of Redis: the caller acknowledges the batch once this resolves (after COMMIT).
 * Writing a batch again is a no-op (the primary key), so a batch committed but not
 * acknowledged can be retried. A row Postgres refuses is isolated (savepoints) into
 * md_ticks_dead_letter; the rest commits. Postgres away: it throws, the batch stays buffered.
 */
@Injectable()
export class BatchWriter {
  private readonly logger = new Logger('flush');

  constructor(
    private readonly database: DatabaseService,
    private readonly storage: StorageMaintenanceService,
    private readonly metrics: FlushMetrics,
    @Inject(FLUSH_FAULTS) private readonly faults: FlushFaults,
    private readonly tickCopy: TickCopy,
  ) {}

  /**
   * A batch with a tick inside the covered range whose partition is missing (dropped by hand)
   * fails every retry: run a create-only pass, then write again; rows that still find no
   * partition are then dead-lettered rather than stalling the buffer.
   */
  async write(entries: BufferedTick[]): Promise<Written> {
    // Never wait here for a connection (a shutdown would wait behind it): the database
    // service reconnects in the background; until then the batch stays pending.
    if (!this.database.isConnected) throw new Error(`Postgres not connected: ${this.database.lastError ?? 'connecting'}`);
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
      for (const bad of unreadable) await deadLetter(runner, undefined, bad.raw, 'unreadable buffer entry');
      for (const tick of homeless)
        await deadLetter(runner, tick.event_id, JSON.stringify(tick), 'no partition: ts is before the oldest partition of md_ticks');
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
            inserted += await insert(runner, [tick]);
          } catch (rowError) {
            if (!isDataError(rowError, homelessIsRowFault)) throw rowError;
            await runner.query('ROLLBACK TO SAVEPOINT row');
            await deadLetter(runner, tick.event_id, JSON.stringify(tick), (rowError as Error).message);
            refused += 1;
          }
        }
      }
      this.faults.beforeCommit();
      await runner.commitTransaction();
      this.faults.afterCommit();
      const now = Date.now();
      for (const tick of readable) this.metrics.ingestToRow.observe((now - tick.receivedAt) / 1000);
      return {
        inserted,
        existing: readable.length - inserted - refused,
        deadLetters: unreadable.length + homeless.length + refused,
        expired,
      };
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }

  /**
   * The batch and its candles, after SAVEPOINT batch: the rows by COPY (tick-copy.ts; the rows of a
   * 5,000-tick batch in 32–37 ms against the INSERT's 41–47: doc/performance.md), then the candles of the batch
   * (all its rows are new, or the COPY would have failed). When a row exists already (a batch
   * written again after a crash between COMMIT and acknowledgement), and for a batch with an
   * entry the COPY path does not take, INSERT_TICKS, which skips existing rows and builds the
   * candles of the rows it wrote. Anything else a COPY refuses is thrown to the caller, which
   * rolls back to the savepoint and writes row by row.
   */
  private async insertBatch(runner: QueryRunner, ticks: ReceivedTick[]): Promise<number> {
    if (ticks.length === 0) return 0;
    const unique = uniqueByEventId(ticks);
    if (!unique.every(copyable)) return insert(runner, unique);
    try {
      await this.tickCopy.copy(runner, unique);
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      await runner.query('ROLLBACK TO SAVEPOINT batch');
      return insert(runner, unique);
    }
    await runner.query(MERGE_MINUTE_BARS, minuteBarColumns(unique));
    return unique.length;
  }
}

async function insert(runner: QueryRunner, ticks: ReceivedTick[]): Promise<number> {
  if (ticks.length === 0) return 0;
  return inserted(await runner.query(INSERT_TICKS, columns(ticks)));
}

function deadLetter(runner: QueryRunner, eventId: string | undefined, payload: string, error: string): Promise<unknown> {
  // A re-written batch (crash between COMMIT and acknowledgement) adds no second dead letter.
  return runner.query(
    `INSERT INTO md_ticks_dead_letter (event_id, payload, error) VALUES ($1, $2, $3)
     ON CONFLICT (event_id) WHERE event_id IS NOT NULL DO NOTHING`,
    [eventId ?? null, payload, error],
  );
}

/** Ticks the write statement (tick-rows.ts) inserted. */
const inserted = (rows: unknown) => (rows as [{ inserted: number }])[0]?.inserted ?? 0;

const UNIQUE_VIOLATION = '23505';

/** The SQLSTATE of a driver error, whether TypeORM wrapped it (QueryFailedError.driverError) or not. */
export function sqlState(error: unknown): string | undefined {
  return (error as { code?: string; driverError?: { code?: string } }).driverError?.code ?? (error as { code?: string }).code;
}

/**
 * SQLSTATE classes 22 (data exception) and 23 (integrity) except unique_violation: the row's
 * fault. Except a row with no partition (23514 too): a partition not created yet (a race with
 * maintenance) is the database's state, not the row's; the batch is retried.
 */
export function isDataError(error: unknown, homelessIsRowFault = false): boolean {
  const code = sqlState(error);
  if (isNoPartition(error) && !homelessIsRowFault) return false;
  return typeof code === 'string' && (code.startsWith('22') || (code.startsWith('23') && code !== UNIQUE_VIOLATION));
}

/** Postgres found no partition of md_ticks for a row's ts (the message is the only sign: its SQLSTATE is 23514, a check violation). */
export function isNoPartition(error: unknown): boolean {
  return (error as Error).message?.includes('no partition of relation') ?? false;
}
