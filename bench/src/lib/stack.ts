/**
 * The system under test, as separate processes on this machine: orchestrator-api (ingest,
 * views, flusher), consumers (calc-a, calc-b) and realtime-gateway, from dist/apps, on the
 * bench's own Redis database (FLUSHDB'd between phases), key prefix and channel, and its own
 * PostgreSQL database. Also the bench's own reads of Redis and PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_QUEUE_NAME, DEFAULT_VIEW_QUEUE_NAME } from '@md/contracts';
import { freePort, sleep, waitUntil } from '@md/testing';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { postgresPids, ProcSampler, type Usage } from './procstat';
import { type Sample, scrape } from './prom';
import { Service, type ServiceOptions } from './service';
import { round, type Summary } from './stats';

/**
 * The most ticks one flush-buffer entry holds: CHUNK_MAX_TICKS of @md/pipeline (which the bench
 * does not bundle: its scripts are Lua files the bench's build does not load).
 */
export const BUFFER_ENTRY_MAX_TICKS = 100;

export const APPS = { api: 'orchestrator-api', consumers: 'consumers', gateway: 'realtime-gateway', feeder: 'feeder' } as const;
const QUEUES = [DEFAULT_QUEUE_NAME, DEFAULT_VIEW_QUEUE_NAME];
/** prom-client's default eventLoopMonitoringPrecision. */
const LOOP_SAMPLING_MS = 10;

export type Log = (message: string) => void;

export interface QuietOptions {
  probes: number;
  probeMs: number;
  maxWaitMs: number;
  thresholdPct: number;
}

export interface BenchOptions {
  redisUrl: string;
  pgBaseUrl: string;
  runId: string;
  logDir: string;
  distDir: string;
  profileDir?: string;
  /** Settings for every service on top of the bench's own (--set). */
  settings?: Record<string, string>;
  quiet?: Partial<QuietOptions>;
  scrapeTimeoutMs?: number;
  log?: Log;
}

export interface StartOptions extends ServiceOptions {
  /** The scenario, in the name of a --cpu-prof profile. */
  tag?: string;
}

export interface Backlog {
  /**
   * Ticks accepted and not yet counted by calc-a (ticks ever appended to the flush buffer minus
   * the symbols' counts): a tick job holds a chunk of ticks, so the tick queue's job count says
   * little. The waiting and running tick jobs when there are no consumers (or no buffer yet).
   */
  ticksQueue: number;
  /** View jobs waiting or running (at most one waiting per symbol). */
  viewsQueue: number;
  buffer: number;
}

export type BacklogPoint = { t: number } & Partial<Backlog>;

interface PgStats {
  commits?: string;
  inserted?: string;
  read?: string;
  hit?: string;
  wal: { records?: string; bytes?: string; syncs?: string };
  statements?: { id: string; query: string; calls: string; ms: number; rows: string }[];
}

export interface PgDelta {
  commitsPerS: number | null;
  rowsInsertedPerS: number | null;
  walMB: number | null;
  walSyncsPerS: number | null;
  statements?: { query: string; calls: number; ms: number; msPerCall: number }[];
}

export interface RedisCommand {
  command: string;
  calls: number;
  perS: number;
  usecPerCall: number;
  usec: number;
  sharePct: number;
}

export interface Measured {
  usage: Usage;
  metricsBefore: Record<string, Sample[]>;
  metricsAfter: Record<string, Sample[]>;
  scrapedSeconds: number;
  /** The most expensive commands, and the number of every command Redis ran over the phase. */
  redisCommands: { top: RedisCommand[]; calls: number };
  postgres: PgDelta;
}

type CommandStats = Record<string, { calls: number; usec: number }>;

/** A service a scenario started (startStack leaves out what it was told to). */
export function started(service: Service | undefined, name: string): Service {
  if (!service) throw new Error(`${name} is not running`);
  return service;
}

export class Bench {
  readonly runId: string;
  private readonly settings: Record<string, string>;
  readonly log: Log;
  readonly redisUrl: string;
  readonly prefix = 'bench';
  readonly channel: string;
  readonly database: string;
  readonly pgUrl: string;
  readonly pgBaseUrl: string;
  readonly credentials: { user: string; password: string; internalToken: string; apiKey: string };
  readonly logDir: string;
  readonly distDir: string;
  readonly profileDir?: string;
  readonly sampler = new ProcSampler();
  readonly redis: Redis;
  readonly services: Record<string, Service> = {};
  /** Set by setUp. */
  pg!: Client;
  versions: { redis?: string; postgres?: string } = {};
  private readonly scrapeTimeoutMs: number;
  private readonly quiet: QuietOptions;
  private redisPid?: number;
  private statementsAvailable?: boolean;

  constructor({
    redisUrl,
    pgBaseUrl,
    runId,
    logDir,
    distDir,
    profileDir,
    settings = {},
    quiet = {},
    scrapeTimeoutMs = 15_000,
    log = () => undefined,
  }: BenchOptions) {
    const secret = () => randomBytes(18).toString('base64url');
    this.runId = runId;
    this.settings = settings;
    this.log = log;
    this.scrapeTimeoutMs = scrapeTimeoutMs;
    this.quiet = { probes: 2, probeMs: 1_000, maxWaitMs: 120_000, thresholdPct: 25, ...quiet };
    this.redisUrl = redisUrl;
    this.channel = `bench:${runId}:updates`;
    this.database = `bench_${runId.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
    const url = new URL(pgBaseUrl);
    url.pathname = `/${this.database}`;
    this.pgUrl = url.toString();
    this.pgBaseUrl = pgBaseUrl;
    this.credentials = { user: 'bench', password: secret(), internalToken: secret(), apiKey: secret() };
    this.logDir = logDir;
    this.distDir = distDir;
    this.profileDir = profileDir;
    mkdirSync(logDir, { recursive: true });
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  }

  /** Environment shared by the services (each takes what its schema knows; unknown variables are ignored). */
  get env(): Record<string, string> {
    const c = this.credentials;
    return {
      REDIS_URL: this.redisUrl,
      REDIS_PREFIX: this.prefix,
      PUBSUB_CHANNEL: this.channel,
      PG_URL: this.pgUrl,
      INGEST_USERNAME: c.user,
      INGEST_PASSWORD: c.password,
      INTERNAL_TOKEN: c.internalToken,
      API_KEY: c.apiKey,
      // All of the bench's clients share one key, where real browsers each hold their own
      // stream token: the per-key limits would measure the limiter, not the system.
      STREAM_RATE_LIMIT_PER_MIN: '0',
      READ_RATE_LIMIT_PER_MIN: '0',
      // And all its streams come from one address (127.0.0.1).
      MAX_STREAMS_PER_ADDRESS: '0',
      ...this.settings,
    };
  }

  /** Creates the database, applies the api's migrations, and adds the bench's timing column. */
  async setUp(): Promise<void> {
    const admin = new Client({ connectionString: this.pgBaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${this.database}`);
    await admin.end();
    const migrate = await Service.start('migrate', join(this.distDir, APPS.api, 'main.js'), this.env, {
      args: ['migrate'],
      wait: false,
      logDir: this.logDir,
    });
    const code = await migrate.exit;
    if (code !== 0) throw new Error(`migrate failed (${code}):\n${migrate.tail.join('\n')}`);
    this.pg = new Client({ connectionString: this.pgUrl });
    await this.pg.connect();
    // Instrumentation of the bench's throw-away database only, not the product's schema: the
    // time each row is written (clock_timestamp() is the wall clock at the INSERT, a few ms
    // before its COMMIT), on the same host clock as the api's received_at.
    await this.pg.query('ALTER TABLE md_ticks ADD COLUMN bench_written_at timestamptz DEFAULT clock_timestamp()');
    const [redisInfo, pgVersion] = await Promise.all([
      this.redis.info('server'),
      this.pg.query<{ server_version: string }>('SHOW server_version'),
    ]);
    this.redisPid = Number(/process_id:(\d+)/.exec(redisInfo)?.[1]);
    this.versions = { redis: /redis_version:(\S+)/.exec(redisInfo)?.[1], postgres: pgVersion.rows[0].server_version };
    this.sampler.track('redis', () => [this.redisPid]);
    let pgPids = postgresPids();
    let pgPidsAt = Date.now();
    // Backends come and go: re-list them at most once a second.
    this.sampler.track('postgres', () => {
      if (Date.now() - pgPidsAt > 1000) {
        pgPids = postgresPids();
        pgPidsAt = Date.now();
      }
      return pgPids;
    });
  }

  async tearDown({ keepDatabase = false } = {}): Promise<void> {
    await this.stopAll();
    await this.pg?.end().catch(() => undefined);
    if (!keepDatabase) {
      const admin = new Client({ connectionString: this.pgBaseUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
      await admin.end();
    }
    await this.redis.flushdb().catch(() => undefined);
    this.redis.disconnect();
  }

  /** Empties the bench's Redis database and tables: every phase starts from nothing. */
  async reset(): Promise<void> {
    await this.redis.flushdb();
    await this.pg.query('TRUNCATE md_ticks, md_ticks_dead_letter');
  }

  private nodeArgs(name: string, tag: string): string[] {
    return this.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${this.profileDir}`, `--cpu-prof-name=${tag}.${name}.cpuprofile`] : [];
  }

  /** Starts a built app (the run's copy of dist/apps), tracked by the sampler under `name`. */
  start(name: string, app: string, env: Record<string, string> = {}, options: StartOptions = {}): Promise<Service> {
    return this.startScript(name, join(this.distDir, app, 'main.js'), env, options);
  }

  /** Starts a script (absolute, or from the workspace root) with the bench's env, tracked by the sampler under `name`. */
  async startScript(name: string, script: string, env: Record<string, string> = {}, options: StartOptions = {}): Promise<Service> {
    const service = await Service.start(
      name,
      script,
      { ...this.env, ...env },
      {
        logDir: this.logDir,
        nodeArgs: [...(options.nodeArgs ?? []), ...this.nodeArgs(name, options.tag ?? 'bench')],
        ...options,
      },
    );
    this.services[name] = service;
    this.sampler.track(name, () => [service.pid]);
    return service;
  }

  /** api (+ consumers, + gateway): the pipeline of ingest → views → fan-out, and the flusher. */
  async startStack({
    consumers = true,
    gateway = true,
    flush = true,
    apiEnv = {},
    gatewayEnv = {},
    tag,
  }: {
    consumers?: boolean;
    gateway?: boolean;
    flush?: boolean;
    apiEnv?: Record<string, string>;
    gatewayEnv?: Record<string, string>;
    tag?: string;
  } = {}) {
    // The api serves /internal/* on its own listener (INTERNAL_PORT); the consumers post there.
    const internalPort = await freePort();
    const api = await this.start(
      'api',
      APPS.api,
      { FLUSH_ENABLED: String(flush), INTERNAL_PORT: String(internalPort), ...apiEnv },
      { tag },
    );
    const others: Promise<Service>[] = [];
    if (consumers) others.push(this.start('consumers', APPS.consumers, { ORCHESTRATOR_URL: `http://127.0.0.1:${internalPort}` }, { tag }));
    if (gateway) others.push(this.start('gateway', APPS.gateway, gatewayEnv, { tag }));
    await Promise.all(others);
    return { api, consumers: this.services.consumers as Service | undefined, gateway: this.services.gateway as Service | undefined };
  }

  async stop(name: string): Promise<void> {
    const service = this.services[name];
    if (!service) return;
    await service.stop();
    delete this.services[name];
    this.sampler.untrack(name);
  }

  async stopAll(): Promise<void> {
    await Promise.all(Object.keys(this.services).map((name) => this.stop(name)));
  }

  /** Scrapes every running service (prom-client resets its event-loop histogram at each scrape). */
  async scrapeAll(): Promise<Record<string, Sample[]>> {
    const out: Record<string, Sample[]> = {};
    await Promise.all(
      Object.entries(this.services).map(async ([name, service]) => (out[name] = await scrape(service.url, this.scrapeTimeoutMs))),
    );
    return out;
  }

  /**
   * A measured phase: CPU/RSS of every tracked process, the event-loop lag p99 of every
   * service over the phase (its scrape at the start resets the histogram), the metrics at
   * both ends, and Redis's command statistics over the phase.
   */
  async beginPhase(): Promise<{ metricsBefore: Record<string, Sample[]>; end(): Promise<Measured> }> {
    const [metrics, commands, pgBefore] = await Promise.all([this.scrapeAll(), this.commandStats(), this.pgStats()]);
    const scrapedAt = Date.now();
    const sampler = this.sampler.begin();
    return {
      metricsBefore: metrics,
      end: async () => {
        const usage = sampler.end();
        const [after, commandsAfter, pgAfter] = await Promise.all([this.scrapeAll(), this.commandStats(), this.pgStats()]);
        const scrapedSeconds = (Date.now() - scrapedAt) / 1000;
        for (const [name, samples] of Object.entries(after)) {
          // prom-client samples the loop with a 10 ms timer, and the value includes those 10 ms
          // (an idle process reads 10.1 ms): the lag is what exceeds them.
          const lag = samples.find((s) => s.name === 'nodejs_eventloop_lag_p99_seconds');
          if (lag && usage.processes[name]) usage.processes[name].loopLagP99Ms = round(Math.max(0, lag.value * 1000 - LOOP_SAMPLING_MS), 1);
        }
        return {
          usage,
          metricsBefore: metrics,
          metricsAfter: after,
          scrapedSeconds,
          redisCommands: commandDelta(commands, commandsAfter, usage.seconds),
          postgres: pgDelta(pgBefore, pgAfter, usage.seconds),
        };
      },
    };
  }

  /**
   * Other work on the machine skews every figure (the cores are shared). Waits until the CPU
   * used by processes the bench does not run stays under `thresholdPct` (of one core) over
   * `probes` consecutive probes of `probeMs`, at most `maxWaitMs`; resolves to {waitedMs, quiet}.
   * Each phase also reports the foreign CPU it saw (machine.foreignCpuPct).
   */
  async waitQuiet(): Promise<{ waitedMs: number; quiet: boolean }> {
    const { probes, probeMs, maxWaitMs, thresholdPct } = this.quiet;
    const started = Date.now();
    let calm = 0;
    let warned = false;
    while (calm < probes) {
      const probe = this.sampler.begin();
      await sleep(probeMs);
      const { foreignCpuPct } = probe.end().machine;
      calm = foreignCpuPct <= thresholdPct ? calm + 1 : 0;
      if (calm === 0 && !warned) {
        this.log(`waiting for the machine to be quiet (other processes use ${foreignCpuPct} % CPU)`);
        warned = true;
      }
      if (Date.now() - started > maxWaitMs) return { waitedMs: Date.now() - started, quiet: false };
    }
    return { waitedMs: Date.now() - started, quiet: true };
  }

  /**
   * PostgreSQL's own counters: the bench database's transactions and rows (pg_stat_database),
   * the server's WAL (pg_stat_wal), and, where the server preloads pg_stat_statements, the
   * bench database's statements. This machine's shared server does not (it would take a
   * restart), so the statement times in doc/performance.md come from the client side.
   */
  async pgStats(): Promise<PgStats> {
    const [db, wal] = await Promise.all([
      this.pg.query(
        'SELECT xact_commit::bigint AS commits, tup_inserted::bigint AS inserted, blks_read::bigint AS read, blks_hit::bigint AS hit FROM pg_stat_database WHERE datname = current_database()',
      ),
      this.pg
        .query('SELECT wal_records::bigint AS records, wal_bytes::bigint AS bytes, wal_sync::bigint AS syncs FROM pg_stat_wal')
        .catch(() => ({ rows: [{}] })),
    ]);
    let statements: PgStats['statements'];
    if (this.statementsAvailable !== false) {
      try {
        const { rows } = await this.pg.query(
          `SELECT queryid::text AS id, left(query, 80) AS query, calls::bigint AS calls, total_exec_time AS ms, rows::bigint AS rows
             FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        statements = rows;
        this.statementsAvailable = true;
      } catch {
        this.statementsAvailable = false;
      }
    }
    return { ...db.rows[0], wal: wal.rows[0], statements };
  }

  async commandStats(): Promise<CommandStats> {
    const text = await this.redis.info('commandstats');
    const out: CommandStats = {};
    for (const match of text.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g))
      out[match[1]] = { calls: Number(match[2]), usec: Number(match[3]) };
    return out;
  }

  /**
   * Puts `ticks` straight into the flush buffer as ingest's commit appends them: entries of
   * `perEntry` ticks (field `b`, a JSON array; BUFFER_ENTRY_MAX_TICKS for batches, 1 for single ticks
   * arriving alone), each counted in the buffer's counts hash.
   */
  async fillBuffer(ticks: readonly object[], perEntry: number): Promise<void> {
    const stream = `${this.prefix}:buffer:ticks`;
    const counts = `${stream}:counts`;
    const perPipeline = Math.max(1, Math.floor(2_000 / perEntry));
    for (let i = 0; i < ticks.length; i += perPipeline * perEntry) {
      const pipeline = this.redis.pipeline();
      for (let k = i; k < Math.min(ticks.length, i + perPipeline * perEntry); k += perEntry) {
        const entry = ticks.slice(k, k + perEntry);
        pipeline
          .xadd(stream, '*', 'b', JSON.stringify(entry))
          .hincrby(counts, 'buffered', entry.length)
          .hincrby(counts, 'added', entry.length);
      }
      await pipeline.exec();
    }
  }

  /** Ticks calc-a has still to count, view jobs waiting or running, and ticks in the flush buffer. */
  async backlog(): Promise<Backlog> {
    const symbols = await this.redis.smembers(`${this.prefix}:symbols`);
    const buffer = `${this.prefix}:buffer:ticks`;
    const multi = this.redis.multi();
    for (const queue of QUEUES) {
      const base = `${this.prefix}:bull:${queue}`;
      multi.llen(`${base}:wait`).llen(`${base}:active`).zcard(`${base}:prioritized`);
    }
    multi.xlen(buffer).hget(`${buffer}:counts`, 'buffered');
    for (const symbol of symbols) multi.hget(`${this.prefix}:calc:{${symbol}}:state`, 'count');
    const results = ((await multi.exec()) ?? []).map(([, value]) => Number(value ?? 0));
    const counted = results.slice(8).reduce((a, b) => a + b, 0);
    // Every accepted tick is appended to the flush buffer once (its chunk's entry; ingest's undo
    // takes back only ticks not stored): the counts hash's `added` counts them, read from Redis,
    // not from the api under test.
    const added = this.services.consumers ? await this.redis.hget(`${buffer}:counts`, 'added') : null;
    const [entries, buffered] = [results[6], results[7]];
    return {
      ticksQueue: added === null ? results[0] + results[1] + results[2] : Math.max(0, Number(added) - counted),
      viewsQueue: results[3] + results[4] + results[5],
      // In ticks, as the api counts them (lua/includes/buffer.lua of @md/pipeline): one at least per entry.
      buffer: Math.max(entries, Math.min(buffered, entries * BUFFER_ENTRY_MAX_TICKS)),
    };
  }

  /** Samples the backlog every `everyMs` until stopped: [{t (s), ticksQueue, viewsQueue, buffer}]. */
  watchBacklog(everyMs = 250): { points: BacklogPoint[]; stop(): Promise<BacklogPoint[]> } {
    const points: BacklogPoint[] = [];
    const started = Date.now();
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        const at = (Date.now() - started) / 1000;
        points.push({ t: at, ...(await this.backlog().catch(() => ({}))) });
        await sleep(everyMs);
      }
    })();
    return {
      points,
      stop: async () => {
        stopped = true;
        await loop;
        return points;
      },
    };
  }

  /** Waits until the queues and the buffer are empty; resolves to the ms it took (or null past the timeout). */
  async drained(timeoutMs: number): Promise<number | null> {
    const started = Date.now();
    try {
      await waitUntil(
        async () => {
          const b = await this.backlog();
          return b.ticksQueue === 0 && b.viewsQueue === 0 && b.buffer === 0;
        },
        'the pipeline to drain',
        timeoutMs,
        100,
      );
      return Date.now() - started;
    } catch {
      return null;
    }
  }

  /** Ingest → row written, exact, from the rows themselves (received_at → bench_written_at), for rows received in [from, to) epoch ms. */
  async pgLatency(from = 0, to = 8.64e15): Promise<Summary> {
    const { rows } = await this.pg.query<{
      n: number;
      p: (string | number | null)[] | null;
      max: string | number | null;
      mean: string | number | null;
    }>(
      `SELECT count(*)::int AS n,
              percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ms) AS p,
              max(ms) AS max, avg(ms) AS mean
         FROM (SELECT extract(epoch FROM bench_written_at - received_at) * 1000 AS ms
                 FROM md_ticks
                WHERE received_at >= to_timestamp($1 / 1000.0) AND received_at < to_timestamp($2 / 1000.0)) t`,
      [from, to],
    );
    const [row] = rows;
    const num = (v: string | number | null | undefined) => round(v === null || v === undefined ? null : Number(v));
    const [p50, p95, p99] = (row.p ?? [null, null, null]).map(num);
    return { n: row.n, p50, p95, p99, max: num(row.max), mean: num(row.mean) };
  }

  async rowCount(): Promise<number> {
    return (await this.pg.query<{ n: number }>('SELECT count(*)::int AS n FROM md_ticks')).rows[0].n;
  }

  async streamToken(gateway: Service): Promise<string> {
    const response = await fetch(`${gateway.url}/stream/token`, { method: 'POST', headers: { 'x-api-key': this.credentials.apiKey } });
    if (!response.ok) throw new Error(`stream token: ${response.status}`);
    return ((await response.json()) as { token: string }).token;
  }
}

/** PostgreSQL over a phase: commits, rows inserted, WAL written and synced (server-wide), and the top statements when known. */
function pgDelta(before: PgStats, after: PgStats, seconds: number): PgDelta {
  const d = (a: string | undefined, b: string | undefined) => (a === undefined || b === undefined ? null : Number(b) - Number(a));
  const per = (v: number | null, by: number) => (v === null ? 0 : v / by);
  const out: PgDelta = {
    commitsPerS: round(per(d(before.commits, after.commits), seconds), 1),
    rowsInsertedPerS: round(per(d(before.inserted, after.inserted), seconds), 1),
    walMB: round(per(d(before.wal?.bytes, after.wal?.bytes), 1e6), 2),
    walSyncsPerS: round(per(d(before.wal?.syncs, after.wal?.syncs), seconds), 1),
  };
  if (after.statements) {
    const earlier = new Map((before.statements ?? []).map((s) => [s.id, s]));
    out.statements = after.statements
      .map((s) => ({
        query: s.query,
        calls: Number(s.calls) - Number(earlier.get(s.id)?.calls ?? 0),
        ms: s.ms - (earlier.get(s.id)?.ms ?? 0),
      }))
      .filter((s) => s.calls > 0)
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 8)
      .map((s) => ({ ...s, ms: round(s.ms, 1), msPerCall: round(s.ms / s.calls, 3) }));
  }
  return out;
}

/**
 * Redis commands over a phase, most time first: calls, calls/s, µs per call, and share of the
 * summed command time. Redis 7 also counts the commands a script runs, inside the script's own
 * time, so scripts and their inner commands overlap; Redis's real CPU is in the process stats.
 */
function commandDelta(before: CommandStats, after: CommandStats, seconds: number): Measured['redisCommands'] {
  const rows: Omit<RedisCommand, 'sharePct'>[] = [];
  let totalUsec = 0;
  let totalCalls = 0;
  for (const [name, { calls, usec }] of Object.entries(after)) {
    const d = { calls: calls - (before[name]?.calls ?? 0), usec: usec - (before[name]?.usec ?? 0) };
    if (d.calls <= 0) continue;
    totalUsec += d.usec;
    totalCalls += d.calls;
    rows.push({ command: name, calls: d.calls, perS: round(d.calls / seconds, 1), usecPerCall: round(d.usec / d.calls, 2), usec: d.usec });
  }
  rows.sort((a, b) => b.usec - a.usec);
  return {
    top: rows.slice(0, 12).map((r) => ({ ...r, sharePct: round((100 * r.usec) / Math.max(totalUsec, 1), 1) })),
    calls: totalCalls,
  };
}
