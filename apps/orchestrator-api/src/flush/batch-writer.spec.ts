import type { ReceivedTick } from '@md/contracts';
import type { DatabaseService } from '../database/database.service';
import type { StorageMaintenanceService } from '../database/storage-maintenance.service';
import { unregisteredFlushMetrics } from '../testing/flush-metrics';
import { BatchWriter, isDataError, isNoPartition, sqlState } from './batch-writer';
import type { FlushFaults } from './flush-faults';
import type { TickCopy } from './tick-copy';
import { INSERT_TICKS, MERGE_MINUTE_BARS, type BufferedTick } from './tick-rows';

/** A driver error as node-postgres raises it (SQLSTATE in `code`), optionally wrapped as TypeORM does. */
const pgError = (code: string, message = `error ${code}`) => Object.assign(new Error(message), { code });
const wrapped = (code: string, message?: string) =>
  Object.assign(new Error(message ?? `error ${code}`), { driverError: pgError(code, message) });
const NO_PARTITION = 'no partition of relation "md_ticks" found for row';

describe('the classification of SQL errors', () => {
  it('reads the SQLSTATE from the driver error or from TypeORM wrapping it', () => {
    expect(sqlState(pgError('22003'))).toBe('22003');
    expect(sqlState(wrapped('23502'))).toBe('23502');
    expect(sqlState(new Error('connection terminated'))).toBeUndefined();
  });

  it('blames the row for data exceptions (22) and integrity violations (23), except a unique violation', () => {
    expect(isDataError(pgError('22P02'))).toBe(true); // invalid text representation
    expect(isDataError(wrapped('22003'))).toBe(true); // numeric value out of range
    expect(isDataError(pgError('23502'))).toBe(true); // not-null violation
    expect(isDataError(pgError('23505'))).toBe(false); // unique: the batch was written before, not a poison row
  });

  it('blames the database for anything else: the batch is retried, not dead-lettered', () => {
    expect(isDataError(pgError('57P01'))).toBe(false); // admin shutdown
    expect(isDataError(pgError('40001'))).toBe(false); // serialization failure
    expect(isDataError(pgError('55P03'))).toBe(false); // lock not available
    expect(isDataError(new Error('Connection terminated unexpectedly'))).toBe(false);
  });

  it('treats a row with no partition as the database state, unless a repair pass already ran', () => {
    const homeless = pgError('23514', NO_PARTITION);
    expect(isNoPartition(homeless)).toBe(true);
    expect(isNoPartition(pgError('23514', 'new row violates check constraint'))).toBe(false);
    expect(isDataError(homeless)).toBe(false);
    expect(isDataError(homeless, true)).toBe(true);
    expect(isDataError(pgError('23514', 'new row violates check constraint'))).toBe(true);
  });
});

const tick = (event_id: string, ts = Date.parse('2026-03-10T12:00:00Z')): BufferedTick => ({
  id: `${event_id}-0`,
  counted: true,
  tick: { event_id, symbol: 'AAPL', price: 1, volume: 1, source: 'test', ts, receivedAt: ts } as ReceivedTick,
});

/** How the recording database answers rows: `poison…` is refused (22003), `down` ends the connection, `old…` exists already. */
function answer(ids: string[], copy: boolean): void {
  if (ids.includes('down')) throw pgError('57P01', 'terminating connection due to administrator command');
  if (ids.some((id) => id.startsWith('poison'))) throw wrapped('22003', 'value out of range');
  if (copy && ids.some((id) => id.startsWith('old'))) throw pgError('23505', 'duplicate key value violates unique constraint');
}

/**
 * A query runner and COPY that record what is sent, refuse rows whose event_id starts with
 * `poison`, fail on `down`, and (COPY only: INSERT_TICKS skips them) on rows that exist, `old…`.
 */
function writer({ connected = true } = {}) {
  const log: string[] = [];
  let active = false;
  const runner = {
    get isTransactionActive() {
      return active;
    },
    connect: async () => undefined,
    startTransaction: async () => {
      active = true;
      log.push('BEGIN');
    },
    commitTransaction: async () => {
      active = false;
      log.push('COMMIT');
    },
    rollbackTransaction: async () => {
      active = false;
      log.push('ROLLBACK');
    },
    release: async () => log.push('release'),
    query: async (sql: string, params: unknown[] = []) => {
      if (sql === INSERT_TICKS) {
        const ids = params[0] as string[];
        log.push(`insert ${ids.join(',')}`);
        answer(ids, false);
        return [{ inserted: ids.filter((id) => !id.startsWith('old')).length }];
      }
      if (sql === MERGE_MINUTE_BARS) {
        log.push(`candles ${(params[0] as string[]).length} bar(s)`);
        return [{ bars: 3 }];
      }
      log.push(sql.startsWith('INSERT INTO md_ticks_dead_letter') ? `dead letter ${params[0]}` : sql);
      return [];
    },
  };
  const database = {
    isConnected: connected,
    lastError: connected ? undefined : 'ECONNREFUSED',
    dataSource: { createQueryRunner: () => runner },
  };
  const storage = { horizon: () => undefined, cover: async () => undefined, coveredFrom: -Infinity };
  const faults: FlushFaults = { beforeCommit: () => log.push('before commit'), afterCommit: () => log.push('after commit') };
  const tickCopy = {
    copy: async (_runner: unknown, ticks: ReceivedTick[]) => {
      const ids = ticks.map((t) => t.event_id);
      log.push(`copy ${ids.join(',')}`);
      answer(ids, true);
    },
  };
  const metrics = unregisteredFlushMetrics();
  const batchWriter = new BatchWriter(
    database as unknown as DatabaseService,
    storage as unknown as StorageMaintenanceService,
    metrics,
    faults,
    tickCopy as unknown as TickCopy,
  );
  return { batchWriter, log };
}

describe('BatchWriter (with a recording query runner)', () => {
  it('writes a batch by COPY and then its candles, inside one transaction, the fault hooks right around COMMIT', async () => {
    const { batchWriter, log } = writer();
    // A repeated event_id is written once and counted as existing, as INSERT … ON CONFLICT counts it.
    expect(await batchWriter.write([tick('a'), tick('b'), tick('a')])).toEqual({ inserted: 2, existing: 1, deadLetters: 0, expired: 0 });
    expect(log).toEqual(['BEGIN', 'SAVEPOINT batch', 'copy a,b', 'candles 1 bar(s)', 'before commit', 'COMMIT', 'after commit', 'release']);
  });

  it('writes a batch again (a row exists: COPY fails with 23505) by INSERT … ON CONFLICT, from the savepoint', async () => {
    const { batchWriter, log } = writer();
    expect(await batchWriter.write([tick('old-1'), tick('c')])).toEqual({ inserted: 1, existing: 1, deadLetters: 0, expired: 0 });
    expect(log).toEqual([
      'BEGIN',
      'SAVEPOINT batch',
      'copy old-1,c',
      'ROLLBACK TO SAVEPOINT batch',
      'insert old-1,c', // its candles are those of the rows it wrote, in the same statement
      'before commit',
      'COMMIT',
      'after commit',
      'release',
    ]);
  });

  it('writes a batch with an entry COPY does not take (a fractional ts) by INSERT … ON CONFLICT', async () => {
    const { batchWriter, log } = writer();
    expect(await batchWriter.write([tick('a'), tick('b', Date.parse('2026-03-10T12:00:00Z') + 0.5)])).toEqual({
      inserted: 2,
      existing: 0,
      deadLetters: 0,
      expired: 0,
    });
    expect(log).toEqual(['BEGIN', 'SAVEPOINT batch', 'insert a,b', 'before commit', 'COMMIT', 'after commit', 'release']);
  });

  it('isolates a poison row into the dead letters under savepoints and commits the rest', async () => {
    const { batchWriter, log } = writer();
    const unreadable: BufferedTick = { id: 'x-0', counted: true, raw: 'not json' };
    expect(await batchWriter.write([tick('a'), tick('poison'), tick('b'), unreadable])).toEqual({
      inserted: 2,
      existing: 0,
      deadLetters: 2,
      expired: 0,
    });
    expect(log).toEqual([
      'BEGIN',
      'dead letter null', // the unreadable entry: no event id
      'SAVEPOINT batch',
      'copy a,poison,b',
      'ROLLBACK TO SAVEPOINT batch',
      ...['SAVEPOINT row', 'insert a'],
      ...['SAVEPOINT row', 'insert poison', 'ROLLBACK TO SAVEPOINT row', 'dead letter poison'],
      ...['SAVEPOINT row', 'insert b'],
      'before commit',
      'COMMIT',
      'after commit',
      'release',
    ]);
  });

  it('rolls back and throws on a database failure: no COMMIT, no hook, the batch stays buffered', async () => {
    const { batchWriter, log } = writer();
    await expect(batchWriter.write([tick('a'), tick('down')])).rejects.toThrow('administrator command');
    expect(log).toEqual(['BEGIN', 'SAVEPOINT batch', 'copy a,down', 'ROLLBACK', 'release']);
  });

  it('never waits for a connection: no database, no query', async () => {
    const { batchWriter, log } = writer({ connected: false });
    await expect(batchWriter.write([tick('a')])).rejects.toThrow('Postgres not connected: ECONNREFUSED');
    expect(log).toEqual([]);
  });
});
