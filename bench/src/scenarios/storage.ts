/**
 * storage: history and candles at scale (issue 19). In a PostgreSQL database of its own
 * (bench_<run>_storage, dropped at the end), migrated by the api:
 *  1. seeds `days` whole past days of ticks over 5 symbols (`rowsPerDay` each), one daily
 *     partition at a time, as PostgreSQL bulk-loads best: the partition filled as a table of its
 *     own (INSERT … SELECT generate_series, server-side like COPY), then ATTACHed (its indexes
 *     built in one sort), and rollups of the size a long-running deployment keeps (1m bars for
 *     CANDLES_1M_RETENTION_DAYS, 1h/1d bars for `candleDays`);
 *  2. starts the api (flusher on) and ingests at `tps` (the nominal rate) while it measures, per
 *     read, p50/p99 over `reads` sequential requests: history limit=1000, candles 1m×1000,
 *     1h×1000, 1d×365;
 *  3. the flusher's drain rate (rows/s) of a pre-filled buffer of `drainRows` ticks, alone and
 *     with `heavyClients` clients reading the most expensive allowed requests in a loop;
 *  4. the time to drop the oldest day (DETACH PARTITION … CONCURRENTLY + DROP TABLE, what
 *     retention runs) while ingest and reads go on;
 *  5. table and index bytes per million ticks.
 * The load average of the machine is reported with each figure: others may be using it.
 */
import os from 'node:os';
import { join } from 'node:path';
import { sleep, waitUntil } from '@md/testing';
import { Client } from 'pg';
import { driverEnv } from '../lib/env';
import { Service } from '../lib/service';
import { APPS, type Bench, BUFFER_ENTRY_MAX_TICKS, type Log } from '../lib/stack';
import { median, ratio, round, type Summary, summarize } from '../lib/stats';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'ADAUSDT'];
const DAY_MS = 86_400_000;
const load = () => os.loadavg().map((v) => Number(v.toFixed(2)));
const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');

export interface StorageConfig {
  days: number;
  rowsPerDay: number;
  candleDays: number;
  tps: number;
  reads: number;
  drainRows: number;
  heavyClients: number;
}

type PathOf = (symbol: string) => string;
type Reads = { requests: number; refused: number };
type DrainRun = { rows: number; seconds: number; rowsPerS: number; reads?: Reads; loadAverage: number[] };

export async function storage(bench: Bench, config: StorageConfig, log: Log) {
  const database = `${bench.database}_storage`;
  const url = new URL(bench.pgBaseUrl);
  url.pathname = `/${database}`;
  const pgUrl = url.toString();
  const admin = new Client({ connectionString: bench.pgBaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const db = new Client({ connectionString: pgUrl });
  const out: {
    config: StorageConfig;
    loadAverage: Record<string, number[]>;
    seed?: Awaited<ReturnType<typeof seed>>;
    reads?: Record<string, Summary & { loadAverage: number[] }>;
    ingestDuringReads?: { sent: number; failed: number };
    dropDayMs?: number;
    flusher?: {
      alone?: DrainRun[];
      withHeavyReads?: DrainRun[];
      aloneRowsPerS?: number | null;
      withHeavyReadsRowsPerS?: number | null;
      ratio?: number | null;
    };
    size?: Awaited<ReturnType<typeof sizes>>;
  } = { config, loadAverage: {} };
  try {
    const migrate = await Service.start(
      'migrate-storage',
      join(bench.distDir, APPS.api, 'main.js'),
      { ...bench.env, PG_URL: pgUrl },
      { args: ['migrate'], wait: false, logDir: bench.logDir },
    );
    if ((await migrate.exit) !== 0) throw new Error(`migrate failed:\n${migrate.tail.join('\n')}`);
    await db.connect();

    const seeded = await seed(db, config, log);
    out.seed = seeded;
    out.loadAverage.afterSeed = load();

    await bench.redis.flushdb();
    // BENCH_PG_READ_POOL_MAX: the api's read cap for this run (default the api's own, 4), to measure
    // what the cap buys the flusher under heavy reads on a small machine.
    const readPoolMax = driverEnv().pgReadPoolMax;
    const apiEnv = {
      PG_URL: pgUrl,
      RETENTION_DAYS: String(config.days + 2),
      READ_RATE_LIMIT_PER_MIN: '0',
      ...(readPoolMax ? { PG_READ_POOL_MAX: readPoolMax } : {}),
    };
    let { api } = await bench.startStack({ consumers: false, gateway: false, flush: true, apiEnv, tag: 'storage' });
    const key = { 'x-api-key': bench.credentials.apiKey };
    const ingest = steadyIngest(api.url, bench.credentials, config.tps);
    try {
      await sleep(2_000);
      const reads: NonNullable<typeof out.reads> = {};
      out.reads = reads;
      const kinds: [string, PathOf][] = [
        ['history_1000', (s) => `/symbols/${s}/history?limit=1000`],
        ['candles_1m_1000', (s) => `/symbols/${s}/candles?interval=1m&limit=1000`],
        ['candles_1h_1000', (s) => `/symbols/${s}/candles?interval=1h&limit=1000`],
        ['candles_1d_365', (s) => `/symbols/${s}/candles?interval=1d&limit=365`],
      ];
      for (const [name, path] of kinds) {
        const timed = { ...(await timeReads(api.url, path, key, config.reads)), loadAverage: load() };
        reads[name] = timed;
        log(`storage: ${name} p50 ${timed.p50} ms, p99 ${timed.p99} ms (load ${timed.loadAverage.join(' ')})`);
      }
      out.ingestDuringReads = ingest.stats();

      // Retention's work, while ingest goes on and a reader reads: the oldest seeded day.
      const oldest = `md_ticks_p${ymd(seeded.firstDay)}`;
      const reading = loopReads(api.url, key, 1);
      const started = performance.now();
      await db.query(`ALTER TABLE md_ticks DETACH PARTITION ${oldest} CONCURRENTLY`);
      await db.query(`DROP TABLE ${oldest}`);
      out.dropDayMs = round(performance.now() - started, 1);
      reading.stop();
      await reading.done;
      out.loadAverage.drop = load();
      log(`storage: dropped ${oldest} (${seeded.rowsPerDay} rows) in ${out.dropDayMs} ms`);
    } finally {
      await ingest.stop();
    }

    // The flusher's drain rate, alone and beside heavy reads (the heaviest requests allowed).
    const flusher: NonNullable<typeof out.flusher> = {};
    out.flusher = flusher;
    for (const withReads of [false, true, false, true]) {
      await bench.stop('api');
      const rows = await fillBuffer(bench, config.drainRows, `drain-${withReads}-${Date.now()}`);
      const before = await todayRows(db);
      ({ api } = await bench.startStack({ consumers: false, gateway: false, flush: true, apiEnv, tag: 'storage-drain' }));
      const heavy = withReads ? loopReads(api.url, key, config.heavyClients, true) : undefined;
      const rate = await drainRate(db, before, rows);
      heavy?.stop();
      const reads = heavy ? await heavy.done : undefined;
      const name = withReads ? 'withHeavyReads' : 'alone';
      (flusher[name] ??= []).push({ ...rate, reads, loadAverage: load() });
      log(
        `storage: flusher ${name}: ${rate.rowsPerS} rows/s${reads ? ` (${reads.requests} heavy reads, ${reads.refused} answered 503)` : ''}`,
      );
    }
    flusher.aloneRowsPerS = median((flusher.alone ?? []).map((r) => r.rowsPerS));
    flusher.withHeavyReadsRowsPerS = median((flusher.withHeavyReads ?? []).map((r) => r.rowsPerS));
    flusher.ratio = ratio(flusher.withHeavyReadsRowsPerS, flusher.aloneRowsPerS);
    await bench.stop('api');

    out.size = await sizes(db);
    log(`storage: ${out.size.tableMiBPerMillion} MiB table + ${out.size.indexMiBPerMillion} MiB indexes per million ticks`);
    return out;
  } finally {
    await bench.stop('api').catch(() => undefined);
    await db.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

async function seed(db: Client, config: StorageConfig, log: Log) {
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const firstDay = today - config.days * DAY_MS;
  const started = performance.now();
  const perSymbol = Math.floor(config.rowsPerDay / SYMBOLS.length);
  for (let day = firstDay; day < today; day += DAY_MS) {
    const name = `md_ticks_p${ymd(day)}`;
    const from = new Date(day).toISOString();
    const to = new Date(day + DAY_MS).toISOString();
    await db.query(`ALTER TABLE md_ticks DETACH PARTITION ${name}`).catch(() => undefined);
    await db.query(`DROP TABLE IF EXISTS ${name}`);
    await db.query(`CREATE TABLE ${name} (LIKE md_ticks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    // Every symbol's ticks evenly over the day, a random walk-ish price, unique event_ids.
    await db.query(
      `INSERT INTO ${name} (event_id, symbol, price, volume, source, ts, received_at)
       SELECT 'seed-' || $4 || '-' || s.i || '-' || n, sym, 100 + 10 * sin(n / 5000.0) + (n % 7) / 10.0, (n % 97) / 10.0, 'seed',
              to_timestamp($1 / 1000.0) + (n * ($2::float8 / $3)) * interval '1 millisecond',
              to_timestamp($1 / 1000.0) + (n * ($2::float8 / $3) + 3) * interval '1 millisecond'
         FROM unnest($5::text[]) WITH ORDINALITY AS s(sym, i), generate_series(0, $3 - 1) AS n`,
      [day, DAY_MS, perSymbol, ymd(day), SYMBOLS],
    );
    await db.query(`ALTER TABLE md_ticks ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`);
    log(`storage: seeded ${name} (${perSymbol * SYMBOLS.length} rows, ${((performance.now() - started) / 1000).toFixed(0)} s so far)`);
  }
  // Rollups of the size a long-running deployment holds: 1m bars for 90 days, 1h and 1d for
  // `candleDays` (synthetic, up to yesterday; the flusher adds today's).
  const rollups: [string, number, number][] = [
    ['1m', 60_000, 90],
    ['1h', 3_600_000, config.candleDays],
    ['1d', DAY_MS, config.candleDays],
  ];
  for (const [width, stepMs, days] of rollups) {
    await db.query(
      `INSERT INTO md_candles (symbol, width, t, open, high, low, close, volume, trades, open_ts, open_id, close_ts, close_id)
       SELECT sym, $1, t, 100, 101, 99, 100.5, 10, 20, t, 'a', t, 'z'
         FROM unnest($2::text[]) AS sym,
              generate_series(to_timestamp($3::float8 / 1000), to_timestamp(($4::float8 - $5::float8) / 1000), $5::float8 * interval '1 millisecond') AS t
       ON CONFLICT DO NOTHING`,
      [width, SYMBOLS, today - days * DAY_MS, today, stepMs],
    );
  }
  await db.query('VACUUM ANALYZE md_ticks');
  await db.query('VACUUM ANALYZE md_candles');
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM md_ticks');
  return {
    days: config.days,
    rowsPerDay: perSymbol * SYMBOLS.length,
    rows: rows[0].n,
    firstDay,
    seconds: round((performance.now() - started) / 1000, 0),
  };
}

/** Batches of 10 ticks at `tps`, spread over the symbols, timestamped now. */
function steadyIngest(apiUrl: string, credentials: { user: string; password: string }, tps: number) {
  const auth = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
  let running = true;
  let sent = 0;
  let failed = 0;
  const done = (async () => {
    const started = Date.now();
    while (running) {
      const batch = Array.from({ length: 10 }, (_, k) => ({
        symbol: SYMBOLS[(sent + k) % SYMBOLS.length],
        price: 100 + Math.random(),
        volume: 1,
        source: 'bench',
        ts: Date.now(),
        event_id: `live-${started}-${sent + k}`,
      }));
      const response = await fetch(`${apiUrl}/ingest/ticks`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      }).catch(() => undefined);
      if (response?.ok) sent += 10;
      else failed += 1;
      await response?.arrayBuffer().catch(() => undefined);
      const due = started + (sent / tps) * 1000;
      await sleep(Math.max(0, due - Date.now()));
    }
  })();
  return {
    stats: () => ({ sent, failed }),
    async stop() {
      running = false;
      await done;
    },
  };
}

async function timeReads(apiUrl: string, path: PathOf, headers: Record<string, string>, n: number) {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const response = await fetch(`${apiUrl}${path(SYMBOLS[i % SYMBOLS.length])}`, { headers });
    const body: unknown = await response.json();
    if (response.status !== 200 || !Array.isArray(body)) throw new Error(`${path(SYMBOLS[0])}: ${response.status}`);
    ms.push(performance.now() - started);
  }
  return { ...summarize(ms), n };
}

/** `clients` loops of reads until stopped; `heavy`: the most expensive requests the caps allow. */
function loopReads(apiUrl: string, headers: Record<string, string>, clients: number, heavy = false) {
  const paths: PathOf[] = heavy
    ? [
        (s) => `/symbols/${s}/history?limit=5000`,
        (s) => `/symbols/${s}/candles?interval=5m&limit=5000`,
        (s) => `/symbols/${s}/candles?interval=5s&limit=360`,
        (s) => `/symbols/${s}/candles?interval=1d&limit=5000`,
      ]
    : [(s) => `/symbols/${s}/history?limit=1000`, (s) => `/symbols/${s}/candles?interval=1m&limit=1000`];
  let running = true;
  let requests = 0;
  let refused = 0;
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = c; running; i++) {
      const response = await fetch(`${apiUrl}${paths[i % paths.length](SYMBOLS[i % SYMBOLS.length])}`, { headers }).catch(() => undefined);
      await response?.arrayBuffer().catch(() => undefined);
      requests += 1;
      if (response?.status === 503) {
        refused += 1;
        await sleep(50);
      }
    }
  });
  return {
    stop: () => (running = false),
    done: Promise.all(loops).then((): Reads => ({ requests, refused })),
  };
}

/** Ticks of today put straight into the buffer, as ingest writes them (batches of 100: entries of 100). */
async function fillBuffer(bench: Bench, n: number, tag: string): Promise<number> {
  const now = Date.now();
  const ticks = Array.from({ length: n }, (_, k) => ({
    symbol: SYMBOLS[k % SYMBOLS.length],
    price: 100 + (k % 1000) / 10,
    volume: (k % 97) / 10,
    source: 'bench',
    ts: now - 60_000 + Math.floor(k / 50),
    event_id: `${tag}-${k}`,
    receivedAt: now,
    traceId: `t-${k}`,
  }));
  await bench.fillBuffer(ticks, BUFFER_ENTRY_MAX_TICKS);
  return n;
}

const todayRows = async (db: Client) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM md_ticks WHERE ts >= date_trunc('day', now(), 'UTC')`)).rows[0].n;

/** Rows/s from the first row written to the last, polled every 50 ms on today's partition. */
async function drainRate(db: Client, before: number, rows: number) {
  let first: { n: number; at: number } | undefined;
  let last: { n: number; at: number } | undefined;
  await waitUntil(
    async () => {
      const n = (await todayRows(db)) - before;
      if (n > 0 && first === undefined) first = { n, at: performance.now() };
      if (n >= rows) last = { n, at: performance.now() };
      return n >= rows;
    },
    'the buffer written',
    600_000,
    50,
  );
  if (!first || !last) throw new Error('the buffer was not written');
  const seconds = (last.at - first.at) / 1000;
  return { rows: last.n - first.n, seconds: round(seconds, 2), rowsPerS: round((last.n - first.n) / Math.max(seconds, 1e-3), 0) };
}

async function sizes(db: Client) {
  const { rows } = await db.query<{ table_bytes: string; index_bytes: string; rows: string }>(`
    SELECT sum(pg_table_size(c.oid))::bigint AS table_bytes,
           sum(pg_indexes_size(c.oid))::bigint AS index_bytes,
           sum(c.reltuples)::bigint AS rows
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'md_ticks'::regclass AND c.relname LIKE 'md_ticks_p%'`);
  const { rows: candles } = await db.query<{ bytes: string; n: number }>(
    `SELECT pg_total_relation_size('md_candles') AS bytes, (SELECT count(*) FROM md_candles)::int AS n`,
  );
  const perMillion = (bytes: string) => round(Number(bytes) / 2 ** 20 / (Number(rows[0].rows) / 1e6), 1);
  return {
    rows: Number(rows[0].rows),
    tableMiBPerMillion: perMillion(rows[0].table_bytes),
    indexMiBPerMillion: perMillion(rows[0].index_bytes),
    candles: { rows: candles[0].n, mib: round(Number(candles[0].bytes) / 2 ** 20, 1) },
  };
}
