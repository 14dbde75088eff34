import { Logger } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import type { QueryRunner } from 'typeorm';
import { OrchestratorApiEnv, validateEnv } from '@md/config';
import type { Candle, ReceivedTick } from '@md/contracts';
import { DatabaseService } from '../../src/database/database.service';
import { StorageMaintenanceService } from '../../src/database/storage-maintenance.service';
import { BatchWriter, sqlState } from '../../src/flush/batch-writer';
import { flushFaults } from '../../src/flush/flush-faults';
import { copyable, encodeRows, TickCopy } from '../../src/flush/tick-copy';
import { columns, INSERT_TICKS, type BufferedTick } from '../../src/flush/tick-rows';
import { unregisteredFlushMetrics } from '../../src/testing/flush-metrics';
import { createDatabase } from '../support/harness';

/**
 * The flusher's COPY path (BatchWriter: binary COPY of the rows, then the candles merged from 1m
 * bars computed in JavaScript) against INSERT_TICKS (rows and candles in SQL), each in a real
 * PostgreSQL database of its own: both must leave the same rows and the same candles.
 */
jest.setTimeout(120_000);

type Database = Awaited<ReturnType<typeof createDatabase>>;

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** A deterministic PRNG (mulberry32): a failure replays. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every visible ASCII character (\x21-\x7e), as ingest admits in an event_id. */
const VISIBLE = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));

/** A real BatchWriter on a database of its own (real DatabaseService, StorageMaintenanceService, TickCopy). */
async function stack(db: Database) {
  const env = validateEnv(OrchestratorApiEnv, {
    NODE_ENV: 'test',
    INGEST_USERNAME: 'feeder',
    INGEST_PASSWORD: 'flush-copy-secret',
    INTERNAL_TOKEN: 'flush-copy-internal-token',
    PG_URL: db.url,
    LOG_LEVEL: 'silent',
  });
  const database = new DatabaseService(env);
  await database.connected();
  const storage = new StorageMaintenanceService(
    database,
    env,
    new Counter({ name: 'dropped', help: 'dropped', registers: [] }),
    new Counter({ name: 'storage_failures', help: 'failures', registers: [] }),
    new Gauge({ name: 'partitions', help: 'partitions', registers: [] }),
  );
  /** What each COPY did: 'ok', or the SQLSTATE it failed with. */
  const copies: string[] = [];
  class RecordingTickCopy extends TickCopy {
    override async copy(runner: QueryRunner, ticks: ReceivedTick[]): Promise<void> {
      try {
        await super.copy(runner, ticks);
        copies.push('ok');
      } catch (error) {
        copies.push(sqlState(error) ?? (error as Error).message);
        throw error;
      }
    }
  }
  const writer = new BatchWriter(database, storage, unregisteredFlushMetrics(), flushFaults(env.FLUSH_FAULT), new RecordingTickCopy());
  return {
    database,
    storage,
    writer,
    copies,
    /** The old path alone: INSERT_TICKS with `columns`, in a transaction of its own; the rows it inserted. */
    async insertTicks(ticks: ReceivedTick[]): Promise<number> {
      await storage.cover(Math.max(...ticks.map((t) => t.ts)));
      const runner = database.dataSource.createQueryRunner();
      await runner.connect();
      try {
        await runner.startTransaction();
        const [{ inserted }] = (await runner.query(INSERT_TICKS, columns(ticks))) as [{ inserted: number }];
        await runner.commitTransaction();
        return inserted;
      } catch (error) {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        throw error;
      } finally {
        await runner.release();
      }
    },
    close: () => database.onApplicationShutdown(),
  };
}

const entries = (ticks: ReceivedTick[]): BufferedTick[] => ticks.map((tick, i) => ({ id: `${i + 1}-0`, counted: true, tick }));

/** md_ticks as text (floats bit for bit, timestamps to the microsecond), in key order. */
const TICKS = `
  SELECT event_id, symbol, encode(float8send(price), 'hex') AS price, encode(float8send(volume), 'hex') AS volume, source,
         (extract(epoch from ts) * 1000000)::bigint::text AS ts, (extract(epoch from received_at) * 1000000)::bigint::text AS received_at
    FROM md_ticks ORDER BY event_id COLLATE "C", ts`;

/** A row of md_candles as CANDLES reads it (times as text, to the microsecond). */
interface CandleRow extends Omit<Candle, 't' | 'final'> {
  symbol: string;
  width: string;
  t: string;
  open_ts: string;
  open_id: string;
  close_ts: string;
  close_id: string;
}

const CANDLES = `
  SELECT symbol, width, (extract(epoch from t) * 1000000)::bigint::text AS t, open, high, low, close, volume, trades,
         (extract(epoch from open_ts) * 1000000)::bigint::text AS open_ts, open_id,
         (extract(epoch from close_ts) * 1000000)::bigint::text AS close_ts, close_id
    FROM md_candles ORDER BY symbol COLLATE "C", width, t`;

const candles = async (db: Database) => (await db.query(CANDLES)).rows as CandleRow[];
const ticksOf = async (db: Database) => (await db.query(TICKS)).rows as Record<string, string>[];

/** The candles equal, every column exactly but volume (a sum of doubles in another order): relative 1e-9. */
function expectSameCandles(actual: CandleRow[], expected: CandleRow[]) {
  const unsummed = (bar: CandleRow) => ({ ...bar, volume: undefined });
  expect(actual.map(unsummed)).toEqual(expected.map(unsummed));
  actual.forEach((bar, i) => {
    const want = expected[i].volume;
    expect(Math.abs(bar.volume - want)).toBeLessThanOrEqual(1e-9 * Math.max(Math.abs(want), Number.MIN_VALUE));
  });
}

/**
 * ~3,000 ticks over 3 symbols and ~3 hours: many exact ts ties (4 instants per minute) between
 * event_ids of all visible ASCII (case, punctuation, digits, prefixes of one another), in 5
 * batches where later batches carry late ticks into bars of earlier ones, each batch shuffled,
 * and one event_id repeated inside a batch (the first must win).
 */
function generate(seed: number, base: number) {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const symbols = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
  const sources = ['binance', 'Börse-東京', 'sim'];
  const used = new Set<string>();
  // Ids that tie-break in byte order where other orders (locale, case-insensitive) disagree.
  const tricky = [
    'a',
    'B',
    'A',
    'b',
    '!',
    '~',
    '_',
    '-',
    '0',
    '9',
    'Z',
    'z',
    'a!',
    'a~',
    'a_',
    'a-',
    'aB',
    'ab',
    'A_',
    'a0',
    '_a',
    '-a',
    '~a',
  ];
  const nextId = () => {
    const fresh = tricky.find((id) => !used.has(id));
    let id = fresh;
    while (id === undefined || used.has(id)) {
      const length = 1 + Math.floor(random() * 3);
      id = Array.from({ length }, () => pick(VISIBLE)).join('');
    }
    used.add(id);
    return id;
  };
  const price = () => {
    const r = random();
    if (r < 0.02) return pick([5e-324, 1e-300, 1e300, 0.1 + 0.2, Number.MIN_VALUE * 3]);
    if (r < 0.2) return pick([100, 100.5, 99.99]); // equal prices
    return Math.exp((random() - 0.5) * 20) * (1 + random());
  };
  const volume = () => {
    const r = random();
    if (r < 0.1) return 0;
    if (r < 0.12) return pick([5e-324, 1e-200, 1e12]);
    return random() * 1000;
  };
  const all: ReceivedTick[] = [];
  for (let i = 0; i < 3000; i++) {
    const minute = Math.floor(random() * 180);
    const ts = base + minute * MINUTE + pick([0, 1, 30_000, 59_999]);
    all.push({
      event_id: nextId(),
      symbol: pick(symbols),
      price: price(),
      volume: volume(),
      source: pick(sources),
      ts,
      receivedAt: ts + Math.floor(random() * 5000),
    });
  }
  // Mostly in time order, batch by batch; 30% late, in a later batch (into bars written before).
  all.sort((a, b) => a.ts - b.ts);
  const batches: ReceivedTick[][] = [[], [], [], [], []];
  all.forEach((tick, i) => {
    const due = Math.min(4, Math.floor(i / 600));
    batches[random() < 0.3 ? due + Math.floor(random() * (5 - due)) : due].push(tick);
  });
  for (const batch of batches) {
    for (let i = batch.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [batch[i], batch[j]] = [batch[j], batch[i]];
    }
  }
  // A repeated event_id inside batch 2, after its first: another price, volume, ts and symbol.
  const first = batches[2][10];
  const repeat = {
    ...first,
    price: first.price * 3 + 1,
    volume: first.volume + 7,
    ts: first.ts + 1_234,
    symbol: symbols[(symbols.indexOf(first.symbol) + 1) % symbols.length],
  };
  batches[2].splice(200, 0, repeat);
  return { batches, all, first };
}

describe('the flusher’s COPY path writes exactly what INSERT_TICKS writes (real Postgres)', () => {
  let a: Database;
  let b: Database;
  const closers: (() => Promise<void>)[] = [];

  // The services' logs (migrations, maintenance passes) would drown the test's output.
  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(async () => {
    a = await createDatabase();
    b = await createDatabase();
  });

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await a.drop();
    await b.drop();
  });

  const open = async (db: Database) => {
    const s = await stack(db);
    closers.push(s.close);
    return s;
  };

  it('same rows and candles for ~3,000 ticks in 5 batches: ties in byte order, late ticks, a repeated event_id', async () => {
    const base = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
    const { batches, all, first } = generate(0x5eed, base);
    const copyPath = await open(a);
    const insertPath = await open(b);

    for (const batch of batches) {
      const unique = new Set(batch.map((t) => t.event_id)).size;
      // The repeated event_id counts as existing (the writer's count: entries less rows inserted).
      expect(await copyPath.writer.write(entries(batch))).toEqual({
        inserted: unique,
        existing: batch.length - unique,
        deadLetters: 0,
        expired: 0,
      });
      expect(await insertPath.insertTicks(batch)).toBe(unique);
    }
    // Every batch went by COPY (none fell back to INSERT_TICKS).
    expect(copyPath.copies).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);

    const rowsA = await ticksOf(a);
    expect(rowsA).toHaveLength(all.length);
    expect(rowsA).toEqual(await ticksOf(b));
    // The repeated event_id: the first one's row.
    const kept = (
      await a.query(`SELECT symbol, price, (extract(epoch from ts) * 1000)::bigint::text AS ts FROM md_ticks WHERE event_id = $1`, [
        first.event_id,
      ])
    ).rows;
    expect(kept).toEqual([{ symbol: first.symbol, price: first.price, ts: String(first.ts) }]);

    const barsA = await candles(a);
    const barsB = await candles(b);
    expectSameCandles(barsA, barsB);
    // What the comparison covered: 1m bars of 3 symbols over ~3 hours, several 1h bars each, 1d.
    const widths = (w: string) => barsA.filter((bar) => bar.width === w).length;
    expect(widths('1m')).toBeGreaterThan(400);
    expect(widths('1h')).toBeGreaterThanOrEqual(9);
    expect(widths('1d')).toBeGreaterThanOrEqual(3);
    expect(barsA.filter((bar) => bar.width === '1m').reduce((n, bar) => n + bar.trades, 0)).toBe(all.length);
    // And the open and close of many bars were decided by the event_id, among ticks of the same ts.
    const { rows: ties } = await a.query(`
      SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM md_ticks k WHERE k.symbol = c.symbol AND k.ts = c.open_ts AND k.event_id <> c.open_id))::int AS opens,
             count(*) FILTER (WHERE EXISTS (SELECT 1 FROM md_ticks k WHERE k.symbol = c.symbol AND k.ts = c.close_ts AND k.event_id <> c.close_id))::int AS closes
        FROM md_candles c WHERE width = '1m'`);
    expect(ties[0].opens).toBeGreaterThan(50);
    expect(ties[0].closes).toBeGreaterThan(50);
  });

  it('a batch written again: the COPY fails with 23505, INSERT_TICKS then inserts nothing and the candles stay', async () => {
    const base = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
    const { batches } = generate(0xbeef, base);
    const copyPath = await open(a);
    const insertPath = await open(b);
    const [batch, next] = batches;
    const n = batch.length;

    expect(await copyPath.writer.write(entries(batch))).toEqual({ inserted: n, existing: 0, deadLetters: 0, expired: 0 });
    const rowsBefore = await ticksOf(a);
    const barsBefore = await candles(a);
    expect(await copyPath.writer.write(entries(batch))).toEqual({ inserted: 0, existing: n, deadLetters: 0, expired: 0 });
    expect(copyPath.copies).toEqual(['ok', '23505']);
    expect(await ticksOf(a)).toEqual(rowsBefore);
    expect(await candles(a)).toEqual(barsBefore);

    // Half written before, half new: the COPY fails, INSERT_TICKS writes the new half and their candles only.
    const mixed = [...batch.slice(0, Math.floor(n / 2)), ...next];
    expect(await copyPath.writer.write(entries(mixed))).toEqual({
      inserted: next.length,
      existing: Math.floor(n / 2),
      deadLetters: 0,
      expired: 0,
    });
    expect(copyPath.copies).toEqual(['ok', '23505', '23505']);
    expect(await insertPath.insertTicks(batch)).toBe(n);
    expect(await insertPath.insertTicks(next)).toBe(next.length);
    expect(await ticksOf(a)).toEqual(await ticksOf(b));
    expectSameCandles(await candles(a), await candles(b));
  });

  it('the same 23505 on a bare runner: ROLLBACK TO SAVEPOINT, then INSERT_TICKS inserts 0 rows', async () => {
    const base = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
    const { batches } = generate(0xc0de, base);
    const copyPath = await open(a);
    await copyPath.writer.write(entries(batches[0]));
    const barsBefore = await candles(a);
    const runner = copyPath.database.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query('SAVEPOINT batch');
      const error = await new TickCopy().copy(runner, batches[0]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(sqlState(error)).toBe('23505');
      await runner.query('ROLLBACK TO SAVEPOINT batch');
      expect(await runner.query(INSERT_TICKS, columns(batches[0]))).toEqual([{ inserted: 0, bars: 0 }]);
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    expect(await candles(a)).toEqual(barsBefore);
  });

  it('encodeRows round-trips odd values exactly: non-ASCII text, extreme doubles, timestamps before 1970 and far ahead', async () => {
    const copyPath = await open(a);
    const insertPath = await open(b);
    // The past goes to the migration's archive partition (md_ticks_before_…); a partition for the far future.
    for (const db of [a, b]) {
      await db.query(`CREATE TABLE md_ticks_rt_future PARTITION OF md_ticks FOR VALUES FROM ('2100-01-01Z') TO ('2285-01-01Z')`);
    }
    const PG_EPOCH = Date.UTC(2000, 0, 1);
    const odd: [number, number, number][] = [
      // ts, price, volume
      [-1, 5e-324, 0],
      [0, Number.MAX_VALUE, Number.MAX_VALUE],
      [-86_400_001, 1e-300, 5e-324],
      [Date.UTC(1716, 0, 1, 0, 0, 0, 1), 0.1 + 0.2, 1e308],
      [PG_EPOCH - 1, 2 ** -1074 * 12345, 2 ** 53 + 2],
      [PG_EPOCH, 1 / 3, 123.456],
      [PG_EPOCH + 1, Math.PI, Math.E],
      [Date.UTC(2284, 11, 31, 23, 59, 59, 999), 4.9e-324 * 3, 0.000001],
      [Date.UTC(2150, 5, 15, 12, 34, 56, 789), 1.7976931348623157e308, 2 ** 60 + 2 ** 8],
    ];
    const ticks: ReceivedTick[] = odd.map(([ts, price, volume], i) => ({
      event_id: `odd-${i}`,
      symbol: i % 2 ? 'Sym-ÄÖÜ' : 'ODD',
      price,
      volume,
      source: ['Börse-東京', 'emoji 📈 source', 'naïve', 'plain'][i % 4],
      ts,
      receivedAt: ts + 1,
    }));

    const runner = copyPath.database.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await new TickCopy().copy(runner, ticks);
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    const { rows } = await a.query(
      `SELECT event_id, symbol, source, price, volume, encode(float8send(price), 'hex') AS price_bits,
              (extract(epoch from ts) * 1000000)::bigint::text AS ts_us, (extract(epoch from received_at) * 1000000)::bigint::text AS received_us
         FROM md_ticks ORDER BY event_id`,
    );
    const bits = (x: number) => {
      const buf = Buffer.alloc(8);
      buf.writeDoubleBE(x);
      return buf.toString('hex');
    };
    expect(rows).toEqual(
      ticks.map((t) => ({
        event_id: t.event_id,
        symbol: t.symbol,
        source: t.source,
        price: t.price,
        volume: t.volume,
        price_bits: bits(t.price),
        ts_us: (BigInt(t.ts) * 1000n).toString(),
        received_us: (BigInt(t.receivedAt) * 1000n).toString(),
      })),
    );
    // The binary encoding itself: a header, one 7-field row per tick, and the trailer.
    const encoded = encodeRows(ticks);
    expect(encoded.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    expect(encoded.readInt16BE(encoded.length - 2)).toBe(-1);

    // INSERT_TICKS of the same ticks, to the millisecond, stores the same.
    expect(await insertPath.insertTicks(ticks)).toBe(ticks.length);
    const ms = `SELECT event_id, symbol, source, price, volume, (extract(epoch from ts) * 1000)::bigint::text AS ts,
                       (extract(epoch from received_at) * 1000)::bigint::text AS received_at FROM md_ticks ORDER BY event_id`;
    expect((await a.query(ms)).rows).toEqual((await b.query(ms)).rows);
    // Within the times the COPY path takes (copyable), INSERT_TICKS stores the very same instant, to
    // the microsecond: a batch written again through it finds the rows COPY wrote.
    const us = 'SELECT event_id, (extract(epoch from ts) * 1000000)::bigint::text AS ts FROM md_ticks ORDER BY event_id';
    const taken = new Set(ticks.filter((t) => copyable({ ...t, symbol: 'ODD' })).map((t) => t.event_id));
    expect(taken.size).toBe(6);
    const inTaken = (rows: { event_id: string }[]) => rows.filter((r) => taken.has(r.event_id));
    expect(inTaken((await b.query(us)).rows)).toEqual(inTaken((await a.query(us)).rows));
  });
});
