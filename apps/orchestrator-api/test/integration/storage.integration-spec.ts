import { Redis } from 'ioredis';
import { getToken } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { Client } from 'pg';
import type { Candle, TickRow } from '@md/contracts';
import { compareTicks } from '@md/market-calc';
import { OrchestratorApiEnv, validateEnv } from '@md/config';
import { createDataSource, DatabaseService, migrate, MIGRATIONS } from '../../src/database/database.service';
import { DAY_MS, dayStart } from '../../src/database/partitions';
import { maintainStorage } from '../../src/database/storage-maintenance';
import { StorageMaintenanceService } from '../../src/database/storage-maintenance.service';
import { HistoryService } from '../../src/history/history.service';
import {
  bufferedTicks,
  createDatabase,
  get,
  post,
  REDIS_URL,
  startApi,
  tick,
  waitUntil,
  dropKeys,
  type RunningApi,
} from '../support/harness';

/**
 * md_ticks partitioned by day, retention, candle rollups and the separate read pool, against the
 * real Redis and a PostgreSQL database of each test's own (doc/storage-and-db.md).
 */
jest.setTimeout(120_000);

type Database = Awaited<ReturnType<typeof createDatabase>>;
/** A stored tick, as much of it as the candles are made of. */
type Raw = Pick<TickRow, 'event_id' | 'symbol' | 'price' | 'volume' | 'ts'>;
/** A candle without `final`: what the reference computes and md_candles holds. */
type Bar = Omit<Candle, 'final'>;

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** The reference: bars of `width` ms computed from raw ticks, open/close by the views' tick order. */
function reference(ticks: Raw[], width: number): Bar[] {
  const bars = new Map<number, Raw[]>();
  for (const t of ticks) {
    const start = Math.floor(t.ts / width) * width;
    bars.set(start, [...(bars.get(start) ?? []), t]);
  }
  return [...bars.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, group]) => {
      const sorted = [...group].sort(compareTicks);
      return {
        t,
        open: sorted[0].price,
        high: Math.max(...group.map((g) => g.price)),
        low: Math.min(...group.map((g) => g.price)),
        close: sorted.at(-1)!.price,
        volume: group.reduce((sum, g) => sum + g.volume, 0),
        trades: group.length,
      };
    });
}

async function rawTicks(db: Database, symbol: string): Promise<Raw[]> {
  const { rows } = await db.query(
    `SELECT event_id, symbol, price, volume, (extract(epoch from ts) * 1000)::bigint AS ts FROM md_ticks WHERE symbol = $1`,
    [symbol],
  );
  return rows.map((r) => ({ ...r, ts: Number(r.ts) }));
}

async function storedBars(db: Database, symbol: string, width: string): Promise<Bar[]> {
  const { rows } = await db.query(
    `SELECT (extract(epoch from t) * 1000)::bigint AS t, open, high, low, close, volume, trades
       FROM md_candles WHERE symbol = $1 AND width = $2 ORDER BY t`,
    [symbol, width],
  );
  return rows.map((r) => ({ ...r, t: Number(r.t) }));
}

/**
 * A metric's value as the app's own metric instance holds it (summed over the matching label
 * sets): several apps started in one jest process share prom-client's registry, so /metrics may
 * show another app's instance.
 */
async function metric(api: RunningApi, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await (api.app.get(getToken(name)) as Counter<string> | Gauge<string>).get();
  return values.filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value)).reduce((sum, v) => sum + v.value, 0);
}

const count = async (db: Database, sql = 'SELECT count(*)::int AS n FROM md_ticks') => (await db.query(sql)).rows[0].n as number;
const bufferLength = async (api: RunningApi) => {
  const redis = new Redis(REDIS_URL);
  try {
    return await bufferedTicks(redis, api.env.REDIS_PREFIX);
  } finally {
    redis.disconnect();
  }
};
const flushed = (api: RunningApi, db: Database, rows: number) =>
  waitUntil(
    async () => (await count(db).catch(() => -1)) === rows && (await bufferLength(api)) === 0,
    `${rows} rows in md_ticks, an empty buffer`,
    60_000,
  );

describe('storage: partitions, retention, rollups, the read pool (real Postgres)', () => {
  let db: Database;
  let api: RunningApi | undefined;

  beforeEach(async () => {
    db = await createDatabase();
  });

  afterEach(async () => {
    if (api) {
      await api.close();
      await dropKeys(REDIS_URL, api.env.REDIS_PREFIX);
      api = undefined;
    }
    await db.drop();
  });

  it('creates daily partitions from RETENTION_DAYS back to 2 days ahead, and writes each tick into its day', async () => {
    api = await startApi({ PG_URL: db.url, FLUSH_ENABLED: 'true', FLUSH_INTERVAL_MS: '100', RETENTION_DAYS: '3' });
    const now = Date.now();
    const sent = [tick({ symbol: 'adausdt', ts: now - 2 * DAY_MS }), tick({ symbol: 'adausdt', ts: now - 1000 })];
    expect((await post(`${api.url}/ingest/ticks`, sent)).body).toMatchObject({ accepted: 2 });
    await flushed(api, db, 2);

    const { rows: kind } = await db.query(`SELECT relkind FROM pg_class WHERE relname = 'md_ticks'`);
    expect(kind).toEqual([{ relkind: 'p' }]);
    const { rows: parts } = await db.query(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'md_ticks'::regclass ORDER BY 1`,
    );
    const name = (ms: number) => `md_ticks_p${new Date(ms).toISOString().slice(0, 10).replace(/-/g, '')}`;
    const today = dayStart(now);
    expect(parts.map((p) => p.relname)).toEqual([-3, -2, -1, 0, 1, 2].map((d) => name(today + d * DAY_MS)));
    const { rows: homes } = await db.query(`SELECT tableoid::regclass::text AS part, event_id FROM md_ticks ORDER BY ts`);
    expect(homes).toEqual([
      { part: name(sent[0].ts), event_id: sent[0].event_id },
      { part: name(sent[1].ts), event_id: sent[1].event_id },
    ]);
    expect(await metric(api, 'md_storage_partitions')).toBe(6);
  });

  it('drops whole partitions past RETENTION_DAYS, does not write ticks past it, and trims dead letters', async () => {
    api = await startApi({ PG_URL: db.url, FLUSH_ENABLED: 'true', FLUSH_INTERVAL_MS: '100', RETENTION_DAYS: '7' });
    const now = Date.now();
    const old = tick({ symbol: 'dotusdt', ts: now - 3 * DAY_MS, price: 7, volume: 1 });
    const recent = tick({ symbol: 'dotusdt', ts: now - 1000, price: 8, volume: 1 });
    await post(`${api.url}/ingest/ticks`, [old, recent]);
    await flushed(api, db, 2);
    await db.query(
      `INSERT INTO md_ticks_dead_letter (event_id, payload, error, failed_at) VALUES ('gone', '{}', 'x', now() - interval '40 days'), ('kept', '{}', 'x', now())`,
    );
    // The flush path's pass (cover) only creates partitions: retention waits for the periodic pass.
    await api.app.get(StorageMaintenanceService).cover(Infinity, true);
    expect(await count(db, 'SELECT count(*)::int AS n FROM md_ticks_dead_letter')).toBe(2);

    // Retention now 2 days: the partition of 3 days ago goes, as a whole, and only it.
    const result = await maintainStorage(
      api.app.get(DatabaseService).dataSource,
      { RETENTION_DAYS: 2, DEAD_LETTER_RETENTION_DAYS: 30, CANDLES_1M_RETENTION_DAYS: 0 },
      true,
    );
    expect(result.retentionError).toBeUndefined();
    expect(result.dropped).toEqual(
      expect.arrayContaining([`md_ticks_p${new Date(dayStart(now) - 3 * DAY_MS).toISOString().slice(0, 10).replace(/-/g, '')}`]),
    );
    expect(result.dropped).toHaveLength(5); // days -7 … -3
    const { rows } = await db.query('SELECT event_id FROM md_ticks');
    expect(rows).toEqual([{ event_id: recent.event_id }]);
    expect((await db.query('SELECT event_id FROM md_ticks_dead_letter')).rows).toEqual([{ event_id: 'kept' }]);
    // The candles outlive the ticks.
    expect(await count(db, `SELECT count(*)::int AS n FROM md_candles WHERE symbol = 'DOTUSDT' AND width = '1d'`)).toBe(2);

    // A tick older than RETENTION_DAYS (7 here) is refused at ingest, naming ts: it would never be stored.
    const expiredBefore = await metric(api, 'md_flush_rows_total', { result: 'expired' });
    const ancient = tick({ symbol: 'dotusdt', ts: now - 10 * DAY_MS });
    const refused = await post(`${api.url}/ingest/tick`, ancient);
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ field: 'ts', reason: expect.stringContaining('RETENTION_DAYS=7') }]);
    expect(await bufferLength(api)).toBe(0);
    // One that aged out while buffered (put into the buffer as ingest would have) is counted expired, not written.
    const redis = new Redis(REDIS_URL);
    await redis.xadd(
      `${api.env.REDIS_PREFIX}:buffer:ticks`,
      '*',
      't',
      JSON.stringify({ ...ancient, symbol: 'DOTUSDT', receivedAt: Date.now() }),
    );
    redis.disconnect();
    await waitUntil(async () => (await bufferLength(api!)) === 0, 'the expired tick acknowledged');
    expect(await count(db)).toBe(1);
    expect((await metric(api, 'md_flush_rows_total', { result: 'expired' })) - expiredBefore).toBe(1);
  });

  it('creates the days back to a raised RETENTION_DAYS, and recreates a partition dropped by hand instead of stalling', async () => {
    const now = Date.now();
    const name = (ms: number) => `md_ticks_p${new Date(ms).toISOString().slice(0, 10).replace(/-/g, '')}`;
    api = await startApi({ PG_URL: db.url, FLUSH_ENABLED: 'true', FLUSH_INTERVAL_MS: '100', RETENTION_DAYS: '3' });
    await post(`${api.url}/ingest/ticks`, [tick({ symbol: 'solusdt', ts: now - 1000 })]);
    await flushed(api, db, 1);
    await api.close();
    await dropKeys(REDIS_URL, api.env.REDIS_PREFIX);

    // RETENTION_DAYS 3 → 10: a tick of 8 days ago has a partition to go to, not the dead letters.
    // A short lock_timeout, so that a repair blocked by a lock (below) fails within the test.
    api = await startApi({
      PG_URL: db.url,
      FLUSH_ENABLED: 'true',
      FLUSH_INTERVAL_MS: '100',
      RETENTION_DAYS: '10',
      PG_LOCK_TIMEOUT_MS: '300',
    });
    const old = tick({ symbol: 'solusdt', ts: now - 8 * DAY_MS });
    expect((await post(`${api.url}/ingest/ticks`, [old])).body).toMatchObject({ accepted: 1 });
    await flushed(api, db, 2);
    expect((await db.query(`SELECT tableoid::regclass::text AS part FROM md_ticks WHERE event_id = $1`, [old.event_id])).rows).toEqual([
      { part: name(old.ts) },
    ]);

    // Yesterday's partition dropped by hand: the flush recreates it rather than failing every retry.
    await db.query(`ALTER TABLE md_ticks DETACH PARTITION ${name(now - DAY_MS)}`);
    await db.query(`DROP TABLE ${name(now - DAY_MS)}`);
    const yesterday = tick({ symbol: 'solusdt', ts: now - DAY_MS });
    expect((await post(`${api.url}/ingest/ticks`, [yesterday])).body).toMatchObject({ accepted: 1 });
    await flushed(api, db, 3);
    expect(
      (await db.query(`SELECT tableoid::regclass::text AS part FROM md_ticks WHERE event_id = $1`, [yesterday.event_id])).rows,
    ).toEqual([{ part: name(yesterday.ts) }]);
    expect(await count(db, 'SELECT count(*)::int AS n FROM md_ticks_dead_letter')).toBe(0);

    // A repair that fails for a passing reason (another session holds a lock ATTACH needs, so the
    // creation times out) leaves the batch in the buffer: retried, not dead-lettered, and written
    // once the lock is gone. (Inserts take a lock that does not conflict with this one.)
    const threeDaysAgo = dayStart(now) - 3 * DAY_MS;
    await db.query(`ALTER TABLE md_ticks DETACH PARTITION ${name(threeDaysAgo)}`);
    await db.query(`DROP TABLE ${name(threeDaysAgo)}`);
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE md_ticks IN SHARE UPDATE EXCLUSIVE MODE');
      const blocked = tick({ symbol: 'solusdt', ts: threeDaysAgo + 6 * HOUR });
      expect((await post(`${api.url}/ingest/ticks`, [blocked])).body).toMatchObject({ accepted: 1 });
      // Several flush attempts and repairs fail meanwhile (each repair waits 300 ms for the lock).
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await count(db, 'SELECT count(*)::int AS n FROM md_ticks_dead_letter')).toBe(0);
      expect(await count(db, 'SELECT count(*)::int AS n FROM md_ticks')).toBe(3);
      await locker.query('COMMIT');
      await flushed(api, db, 4);
      expect(
        (await db.query(`SELECT tableoid::regclass::text AS part FROM md_ticks WHERE event_id = $1`, [blocked.event_id])).rows,
      ).toEqual([{ part: name(blocked.ts) }]);
      expect(await count(db, 'SELECT count(*)::int AS n FROM md_ticks_dead_letter')).toBe(0);
    } finally {
      await locker.end();
    }

    // A day that cannot be made again (a table of someone else's covers half of it): the rows with no
    // partition go to the dead letters, the rest is written, the buffer does not stall.
    const dayBefore = dayStart(now) - 2 * DAY_MS;
    await db.query(`ALTER TABLE md_ticks DETACH PARTITION ${name(dayBefore)}`);
    await db.query(`DROP TABLE ${name(dayBefore)}`);
    await db.query(`CREATE TABLE handmade (LIKE md_ticks INCLUDING CONSTRAINTS)`);
    await db.query(
      `ALTER TABLE md_ticks ATTACH PARTITION handmade FOR VALUES FROM ('${new Date(dayBefore).toISOString()}') TO ('${new Date(dayBefore + 12 * HOUR).toISOString()}')`,
    );
    const morning = tick({ symbol: 'solusdt', ts: dayBefore + 6 * HOUR });
    const evening = tick({ symbol: 'solusdt', ts: dayBefore + 18 * HOUR });
    expect((await post(`${api.url}/ingest/ticks`, [morning, evening])).body).toMatchObject({ accepted: 2 });
    await flushed(api, db, 5);
    expect((await db.query(`SELECT tableoid::regclass::text AS part FROM md_ticks WHERE event_id = $1`, [morning.event_id])).rows).toEqual([
      { part: 'handmade' },
    ]);
    expect((await db.query('SELECT event_id, error FROM md_ticks_dead_letter')).rows).toEqual([
      { event_id: evening.event_id, error: expect.stringContaining('no partition of relation') },
    ]);
  });

  it('keeps every row when migrating the unpartitioned table, and builds its candles', async () => {
    const env = validateEnv(OrchestratorApiEnv, {
      NODE_ENV: 'test',
      INGEST_USERNAME: 'u',
      INGEST_PASSWORD: 'migration-test',
      INTERNAL_TOKEN: 'migration-test-token',
      PG_URL: db.url,
    });
    // The schema as it was: the first migration only.
    const old = new DataSource({ type: 'postgres', url: db.url, migrations: [MIGRATIONS[0]], migrationsTableName: 'md_migrations' });
    await old.initialize();
    await old.runMigrations();
    const now = Date.now();
    const rows = Array.from({ length: 500 }, (_, k) => ({
      event_id: `m-${(k * 7919) % 500}`,
      symbol: k % 3 ? 'XRPUSDT' : 'LTCUSDT',
      price: 1 + (k % 17),
      volume: (k % 5) * 0.25,
      source: 'sim',
      // Over 20 days, several ticks per minute, ties on ts.
      ts: now - Math.floor(k / 2) * 57 * MINUTE,
      received_at: now - k,
    }));
    for (const r of rows) {
      await old.query('INSERT INTO md_ticks VALUES ($1, $2, $3, $4, $5, to_timestamp($6 / 1000.0), to_timestamp($7 / 1000.0))', [
        r.event_id,
        r.symbol,
        r.price,
        r.volume,
        r.source,
        r.ts,
        r.received_at,
      ]);
    }
    const dump = `SELECT event_id, symbol, price, volume, source, (extract(epoch from ts) * 1000)::bigint::text AS ts,
                         (extract(epoch from received_at) * 1000)::bigint::text AS received_at FROM md_ticks ORDER BY event_id`;
    const before = await old.query(dump);
    await old.destroy();

    const ds = createDataSource(env);
    await ds.initialize();
    try {
      await ds.runMigrations({ transaction: 'each' });
      expect(await ds.query(dump)).toEqual(before);
      expect(before).toHaveLength(500);
      const result = await maintainStorage(ds, { RETENTION_DAYS: 30, DEAD_LETTER_RETENTION_DAYS: 30, CANDLES_1M_RETENTION_DAYS: 0 }, true);
      expect(result.dropped).toEqual([]);
      expect(result.created).toHaveLength(2); // the old rows' partition ends tomorrow; 2 days ahead follow
      for (const symbol of ['XRPUSDT', 'LTCUSDT']) {
        const raw = await rawTicks(db, symbol);
        for (const [width, ms] of [
          ['1m', MINUTE],
          ['1h', HOUR],
          ['1d', DAY_MS],
        ] as const) {
          expect(await storedBars(db, symbol, width)).toEqual(reference(raw, ms));
        }
      }
    } finally {
      await ds.destroy();
    }
  });

  it('migrates a table of 200k rows on a pool with a 100 ms statement_timeout; a row dated 2099 gets its own day, not the archive', async () => {
    const old = new DataSource({ type: 'postgres', url: db.url, migrations: [MIGRATIONS[0]], migrationsTableName: 'md_migrations' });
    await old.initialize();
    await old.runMigrations();
    await old.destroy();
    await db.query(`
      INSERT INTO md_ticks SELECT 'big-' || k, CASE WHEN k % 2 = 0 THEN 'AAAUSDT' ELSE 'BBBUSDT' END, 1 + k % 13, 1, 'sim',
                                  now() - k * interval '3 seconds', now()
        FROM generate_series(1, 200000) AS k`);
    await db.query(`INSERT INTO md_ticks VALUES ('bogus-2099', 'AAAUSDT', 5, 1, 'sim', '2099-06-01T12:00:00Z', now())`);

    // The pool of a cautious operator: every statement cut at 100 ms (the writer pool's is 30 s).
    const tight = new DataSource({
      type: 'postgres',
      url: db.url,
      migrations: MIGRATIONS,
      migrationsTableName: 'md_migrations',
      extra: { statement_timeout: 100 },
    });
    await tight.initialize();
    try {
      await expect(tight.query('SELECT pg_sleep(1)')).rejects.toThrow(/statement timeout/);
      expect(await migrate(tight)).toEqual(['PartitionMdTicks1795500000000']);
    } finally {
      await tight.destroy();
    }
    expect(await count(db)).toBe(200_001);
    const tomorrow = new Date(dayStart(Date.now()) + DAY_MS).toISOString().slice(0, 10).replace(/-/g, '');
    const { rows: parts } = await db.query(
      `SELECT c.relname AS name, count(t.*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         LEFT JOIN md_ticks t ON t.tableoid = c.oid WHERE i.inhparent = 'md_ticks'::regclass GROUP BY 1 ORDER BY 1`,
    );
    expect(parts).toEqual([
      { name: `md_ticks_before_${tomorrow}`, n: 200_000 },
      { name: 'md_ticks_p20990601', n: 1 },
    ]);
    // Maintenance still creates the days ahead, and retention can drop the archive once it is past.
    const ds = new DataSource({ type: 'postgres', url: db.url });
    await ds.initialize();
    try {
      const result = await maintainStorage(ds, { RETENTION_DAYS: 7, DEAD_LETTER_RETENTION_DAYS: 0, CANDLES_1M_RETENTION_DAYS: 0 }, true);
      expect(result.created).toHaveLength(2);
      const later = await maintainStorage(
        ds,
        { RETENTION_DAYS: 7, DEAD_LETTER_RETENTION_DAYS: 0, CANDLES_1M_RETENTION_DAYS: 0 },
        true,
        Date.now() + 9 * DAY_MS,
      );
      expect(later.dropped).toContain(`md_ticks_before_${tomorrow}`);
    } finally {
      await ds.destroy();
    }
  });

  it('keeps candles equal to the raw ticks: ties, late ticks into a closed bar, a batch written twice', async () => {
    api = await startApi({ PG_URL: db.url, FLUSH_ENABLED: 'true', FLUSH_INTERVAL_MS: '100' });
    const base = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
    const at = (m: number, s: number) => base + m * MINUTE + s * 1000;
    const t = (m: number, s: number, price: number, volume: number, event_id: string) =>
      tick({ symbol: 'linkusdt', ts: at(m, s), price, volume, event_id });
    const first = [
      t(0, 10, 10, 1, 'c-m'),
      t(0, 20, 12, 0.5, 'c-n'),
      t(0, 20, 11, 2, 'c-o'),
      t(3, 0, 9, 4, 'c-p'),
      t(65, 30, 20, 0.25, 'c-q'),
      t(130, 0, 30, 1, 'c-r'),
    ];
    await post(`${api.url}/ingest/ticks`, first);
    await flushed(api, db, first.length);

    // Late, into bars already written: a new open (earlier ts), a tie on the close's ts with a
    // greater event_id (the new close), a tie on the open's ts with a smaller one, a new high and low.
    const late = [t(0, 5, 8, 1, 'c-z'), t(0, 20, 13, 1, 'c-p2'), t(3, 0, 15, 1, 'c-a'), t(3, 59, 1, 3, 'c-s'), t(65, 30, 22, 0.5, 'c-b')];
    await post(`${api.url}/ingest/ticks`, late);
    await flushed(api, db, first.length + late.length);

    // A batch written twice: the buffered entries put back, as after a crash between COMMIT and XACK.
    const existingBefore = await metric(api, 'md_flush_rows_total', { result: 'existing' });
    const redis = new Redis(REDIS_URL);
    for (const again of [...late, first[0]]) {
      await redis.xadd(
        `${api.env.REDIS_PREFIX}:buffer:ticks`,
        '*',
        't',
        JSON.stringify({ ...again, symbol: 'LINKUSDT', receivedAt: Date.now() }),
      );
    }
    redis.disconnect();
    await waitUntil(async () => (await bufferLength(api!)) === 0, 'the re-written batch acknowledged');
    expect((await metric(api, 'md_flush_rows_total', { result: 'existing' })) - existingBefore).toBe(6);

    const raw = await rawTicks(db, 'LINKUSDT');
    expect(raw).toHaveLength(first.length + late.length);
    for (const [width, ms] of [
      ['1m', MINUTE],
      ['1h', HOUR],
      ['1d', DAY_MS],
    ] as const) {
      expect(await storedBars(db, 'LINKUSDT', width)).toEqual(reference(raw, ms));
    }
    // The API answers from them, 5m from the 1m bars, 5s from the raw ticks.
    const strip = (bars: Candle[]) => bars.map(({ final: _final, ...bar }) => bar);
    for (const [interval, ms] of [
      ['1m', MINUTE],
      ['5m', 5 * MINUTE],
      ['1h', HOUR],
      ['1d', DAY_MS],
      ['5s', 5_000],
    ] as const) {
      const answer = await get(`${api.url}/symbols/LINKUSDT/candles?interval=${interval}&limit=360`);
      expect(answer.status).toBe(200);
      const expected = reference(raw, ms);
      expect(strip(answer.body)).toEqual(interval === '5s' ? expected.filter((b) => b.t >= expected.at(-1)!.t - 359 * ms) : expected);
    }
  });

  it('reads never take the flusher’s connections: reads up to PG_READ_POOL_MAX hold, a flush completes, one more read gets 503 + Retry-After', async () => {
    api = await startApi({
      PG_URL: db.url,
      FLUSH_ENABLED: 'true',
      FLUSH_INTERVAL_MS: '100',
      PG_READ_POOL_MAX: '2',
      PG_READ_STATEMENT_TIMEOUT_MS: '60000',
    });
    const history = api.app.get(HistoryService);
    await waitUntil(
      async () => (await get(`${api!.url}/symbols/BTCUSDT/history`)).status === 200,
      'the reader pool open, the schema migrated',
    );
    let settled = 0;
    const slow = [0, 1].map(() =>
      history.read('SELECT pg_sleep(60)', []).then(
        () => settled++,
        (error: Error) => {
          settled++;
          return error;
        },
      ),
    );
    await waitUntil(
      async () => (await count(db, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'`)) === 2,
      'both slow reads running',
    );

    const ticks = Array.from({ length: 50 }, () => tick({ symbol: 'avaxusdt' }));
    expect((await post(`${api.url}/ingest/ticks`, ticks)).body).toMatchObject({ accepted: 50 });
    await flushed(api, db, 50);
    expect(settled).toBe(0); // the reads still hold both read connections

    const busyBefore = await metric(api, 'md_history_reads_refused_total', { reason: 'busy' });
    const refused = await get(`${api.url}/symbols/AVAXUSDT/history`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.message).toContain('PG_READ_POOL_MAX');
    expect((await get(`${api.url}/symbols/AVAXUSDT/candles`)).status).toBe(503);
    expect((await metric(api, 'md_history_reads_refused_total', { reason: 'busy' })) - busyBefore).toBe(2);

    await db.query(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'`);
    const errors = await Promise.all(slow);
    expect(errors.map((e) => (e as { getStatus?: () => number }).getStatus?.())).toEqual([503, 503]);
    expect((await get(`${api.url}/symbols/AVAXUSDT/history?limit=100`)).body).toHaveLength(50);
  });

  it('cuts a read at PG_READ_STATEMENT_TIMEOUT_MS (503), and sets lock_timeout and idle_in_transaction_session_timeout on both pools', async () => {
    api = await startApi({
      PG_URL: db.url,
      FLUSH_ENABLED: 'true',
      PG_READ_STATEMENT_TIMEOUT_MS: '300',
      PG_LOCK_TIMEOUT_MS: '1500',
      PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: '20000',
    });
    const history = api.app.get(HistoryService);
    await waitUntil(async () => (await get(`${api!.url}/health/readiness`)).body.details?.flush?.postgres === 'up', 'the database');
    const timeoutsBefore = await metric(api, 'md_history_reads_refused_total', { reason: 'timeout' });
    await expect(history.read('SELECT pg_sleep(5)', [])).rejects.toMatchObject({
      message: expect.stringContaining('PG_READ_STATEMENT_TIMEOUT_MS'),
    });
    expect((await metric(api, 'md_history_reads_refused_total', { reason: 'timeout' })) - timeoutsBefore).toBe(1);
    const settings = `SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock,
                             current_setting('idle_in_transaction_session_timeout') AS idle`;
    expect(await history.read(settings, [])).toEqual([{ statement: '300ms', lock: '1500ms', idle: '20s' }]);
    const writer = api.app.get(DatabaseService).dataSource;
    expect(await writer.query(settings)).toEqual([{ statement: '30s', lock: '1500ms', idle: '20s' }]);
  });
});
