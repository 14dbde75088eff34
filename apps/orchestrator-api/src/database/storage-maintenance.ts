import type { DataSource, QueryRunner } from 'typeorm';
import { boundsOf, DAY_MS, dailyName, plan, retentionHorizon, type PartitionBounds } from './partitions';

/** Serialises maintenance across replicas (pg_advisory_lock key; migrations use 7_302_114_001). */
const MAINTENANCE_LOCK = 7_302_114_002;

/** SQLSTATEs of a day that cannot be created however often it is tried: it overlaps another partition. */
const PERMANENT_CREATE_FAILURES = new Set(['42P17']);

export interface RetentionSettings {
  RETENTION_DAYS: number;
  DEAD_LETTER_RETENTION_DAYS: number;
  CANDLES_1M_RETENTION_DAYS: number;
}

export interface MaintenanceResult {
  /** Ran at all: false when `wait` was false and another replica held the lock. */
  ran: boolean;
  created: string[];
  dropped: string[];
  /** How long detaching and dropping each dropped partition took, ms. */
  dropMs: number[];
  /** Ticks with ts before this have a partition to go to… */
  coveredFrom: number;
  /** …and before this (exclusive). */
  coveredUntil: number;
  deadLetters: number;
  candles1m: number;
  /** Why a partition could not be created (the first failure; the other days were tried all the same). */
  createError?: string;
  /**
   * Whether a creation failed for a reason that may pass (a lock or statement timeout, a lost
   * connection), as opposed to a day that cannot exist (it overlaps a hand-attached table).
   */
  createRetryable?: boolean;
  /** Why retention did not complete (the partitions ahead were made all the same). */
  retentionError?: string;
}

/**
 * One maintenance pass, on a connection of its own, one replica at a time: creates the daily
 * partitions up to PARTITIONS_AHEAD_DAYS ahead, drops those past RETENTION_DAYS, and deletes
 * dead letters and 1-minute candles past theirs. Never blocks reads or the flusher:
 *  - a partition is created as a table, then ATTACHed (SHARE UPDATE EXCLUSIVE on md_ticks,
 *    which neither reads nor inserts wait for), not by CREATE TABLE … PARTITION OF (ACCESS
 *    EXCLUSIVE);
 *  - it is dropped by DETACH PARTITION … CONCURRENTLY, then DROP TABLE of what is by then a
 *    table of its own. A detach interrupted half-way (crash, lock_timeout) is FINALIZEd next time.
 * `wait`: wait for the lock (the flusher needs its partitions), or skip when another replica
 * holds it (the periodic pass). `retention` false: create only (the flush path: a flush that
 * needs a new day's partition does not also wait for detaching, dropping and deleting).
 */
export async function maintainStorage(
  dataSource: DataSource,
  settings: RetentionSettings,
  wait: boolean,
  now = Date.now(),
  retention = true,
): Promise<MaintenanceResult> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  const result: MaintenanceResult = {
    ran: false,
    created: [],
    dropped: [],
    dropMs: [],
    coveredFrom: 0,
    coveredUntil: 0,
    deadLetters: 0,
    candles1m: 0,
  };
  try {
    if (wait) await runner.query('SELECT pg_advisory_lock($1)', [MAINTENANCE_LOCK]);
    else {
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [MAINTENANCE_LOCK])) as [{ locked: boolean }];
      if (!locked) return result;
    }
    try {
      result.ran = true;
      const attached = (await runner.query(`
        SELECT c.relname AS name, i.inhdetachpending AS pending
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'md_ticks'::regclass`)) as { name: string; pending: boolean }[];
      const partitions = attached
        .filter((p) => !p.pending)
        .map((p) => boundsOf(p.name))
        .filter((p): p is PartitionBounds => !!p);
      const planned = plan(partitions, settings.RETENTION_DAYS, now);
      const { create } = planned;
      const drop = retention ? planned.drop : [];
      // One day that cannot be attached (a table of someone else's overlaps it) must not stop
      // the days after it: each is tried, the failures reported.
      const made: number[] = [];
      for (const day of create) {
        try {
          result.created.push(await createPartition(runner, day));
          made.push(day);
        } catch (error) {
          result.createError ??= `${dailyName(day)}: ${(error as Error).message}`;
          if (!PERMANENT_CREATE_FAILURES.has((error as { code?: string }).code ?? '')) result.createRetryable = true;
        }
      }
      const kept = [
        ...partitions.filter((p) => !drop.includes(p)),
        ...made.map((day) => ({ name: dailyName(day), from: day, to: day + DAY_MS })),
      ];
      result.coveredFrom = Math.min(...kept.map((p) => p.from));
      result.coveredUntil = Math.max(...kept.map((p) => p.to));
      // Retention may fail (lock_timeout behind a long query): the partitions ahead are made,
      // so flushing goes on, and the next pass drops what this one did not.
      if (retention) {
        try {
          const halfDetached = attached.filter((p) => p.pending).map((p) => p.name);
          await applyRetention(runner, halfDetached, drop, settings, now, result);
        } catch (error) {
          result.retentionError = (error as Error).message;
        }
      }
      return result;
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MAINTENANCE_LOCK]).catch(() => undefined);
    }
  } finally {
    await runner.release();
  }
}

/** Drops the partitions past RETENTION_DAYS, then the dead letters and 1-minute candles past theirs. */
async function applyRetention(
  runner: QueryRunner,
  halfDetached: string[],
  drop: PartitionBounds[],
  settings: RetentionSettings,
  now: number,
  result: MaintenanceResult,
): Promise<void> {
  // A DETACH … CONCURRENTLY interrupted (crash, lock_timeout) leaves its partition pending.
  // Catalog names go into DDL quoted: a table someone else attached may have any name.
  for (const name of halfDetached) await runner.query(`ALTER TABLE md_ticks DETACH PARTITION ${quoteIdent(name)} FINALIZE`);
  for (const partition of drop) {
    const started = performance.now();
    await runner.query(`ALTER TABLE md_ticks DETACH PARTITION ${quoteIdent(partition.name)} CONCURRENTLY`);
    await runner.query(`DROP TABLE ${quoteIdent(partition.name)}`);
    result.dropMs.push(performance.now() - started);
    result.dropped.push(partition.name);
  }
  // Detached by a pass that died before its DROP, or FINALIZEd above: ours by name.
  const horizon = retentionHorizon(settings.RETENTION_DAYS, now);
  const loose = (await runner.query(`
    SELECT relname AS name FROM pg_class
     WHERE relkind = 'r' AND NOT relispartition AND relname ~ '^md_ticks_(p|before_)[0-9]{8}$'
       AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`)) as { name: string }[];
  for (const { name } of loose) {
    const bounds = boundsOf(name);
    if (bounds && horizon !== undefined && bounds.to <= horizon) {
      await runner.query(`DROP TABLE ${quoteIdent(name)}`);
      result.dropped.push(name);
    }
  }
  result.deadLetters = await deleteOlder(
    runner,
    'DELETE FROM md_ticks_dead_letter WHERE failed_at < $1',
    settings.DEAD_LETTER_RETENTION_DAYS,
    now,
  );
  result.candles1m = await deleteOlder(
    runner,
    "DELETE FROM md_candles WHERE width = '1m' AND t < $1",
    settings.CANDLES_1M_RETENTION_DAYS,
    now,
  );
}

async function createPartition(runner: QueryRunner, day: number): Promise<string> {
  const name = dailyName(day);
  const from = new Date(day).toISOString();
  const to = new Date(day + DAY_MS).toISOString();
  await runner.startTransaction();
  try {
    // LIKE copies the columns (a column added to md_ticks later included), NOT NULL and CHECKs;
    // ATTACH builds the (empty) partition's indexes and checks nothing else.
    await runner.query(`CREATE TABLE IF NOT EXISTS ${name} (LIKE md_ticks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    await runner.query(`ALTER TABLE md_ticks ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`);
    await runner.commitTransaction();
  } catch (error) {
    await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  }
  return name;
}

/** A catalog name as an SQL identifier (as PostgreSQL's quote_ident / format('%I')). */
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Small tables only (dead letters, 1-minute candles): the ticks themselves are never DELETEd. */
async function deleteOlder(runner: QueryRunner, sql: string, days: number, now: number): Promise<number> {
  if (days <= 0) return 0;
  const result = (await runner.query(sql, [new Date(now - days * DAY_MS)], true)) as { affected?: number };
  return result.affected ?? 0;
}
