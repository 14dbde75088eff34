/**
 * `npm run bench [-- options]`: starts the real stack (the built apps as separate processes,
 * on the bench's own Redis database and PostgreSQL database), drives it through the scenarios
 * of doc/performance.md, and writes bench/results/<UTC timestamp>.{json,md,svg} and
 * latest.{json,md,svg}; the markdown report goes to stdout, progress to stderr. Runs as
 * dist/bench/run.js (`npx nx run bench:build` first; `npm run bench` does both).
 *
 *   --quick             shorter phases, fewer repeats (under about 2 minutes)
 *   --only=a,b          scenarios to run: nominal, ramp, fanout, baselines, storage (default: all)
 *   --profile           runs the services under --cpu-prof and reports their top frames;
 *                       the figures are then skewed, so latest.* is not updated
 *   --no-build          use dist/apps as it is (default: nx build first; cached when unchanged)
 *   --keep-db           keep the PostgreSQL database afterwards (for inspection)
 *   --fanout-idle-only  fanout runs only its idle phase (the connect storm and RSS per connection)
 *   --set=NAME=VALUE    a setting for every service (repeatable), e.g. --set=STREAM_FLUSH_MS=25: to
 *                       measure a setting; such a run is written as <id>.set.*, not latest.*
 *   --ramp=single|batch only that ramp (default: both), --ramp-from=N its first rate (ticks/s; default
 *                       the configured start): for A/B runs of one ramp, written as <id>.set.* too
 * Env: BENCH_REDIS_URL (default redis://127.0.0.1:6379/9: a database the bench may FLUSHDB),
 * PG_URL (default postgres://postgres@127.0.0.1:5432/postgres: where the bench creates its database).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { rampChart } from './lib/chart';
import { summarizeProfiles } from './lib/cpuprofile';
import { defaultRedisServer, driverEnv, inheritedEnv } from './lib/env';
import { type Config, judge, markdown, type Results, succeeded } from './lib/report';
import { ROOT } from './lib/service';
import { APPS, Bench, type Log } from './lib/stack';
import { baselines } from './scenarios/baselines';
import { fanout } from './scenarios/fanout';
import { nominal } from './scenarios/nominal';
import { ramp } from './scenarios/ramp';
import { storage } from './scenarios/storage';

const FULL: Config = {
  nominal: { repeats: 3, seconds: 60, warmupS: 10, tps: 100, clients: 20 },
  ramp: {
    startSingle: 100,
    startBatch: 200,
    maxRate: 100_000,
    warmupMs: 5_000,
    stepMs: 15_000,
    windows: 3,
    drainTimeoutMs: 30_000,
    connectionsSingle: 64,
    connectionsBatch: 16,
  },
  fanout: {
    tps: 100,
    phases: [{ clients: 1000 }, { clients: 1000, maxHz: 5 }, { clients: 5000 }, { clients: 5000, maxHz: 5 }],
    fleetProcesses: 2,
    settleMs: 3_000,
    windows: 3,
    windowMs: 6_000,
    closeWaitMs: 1_000,
    // Socket.IO at the same clients and load, in the same run (messages per CPU-second).
    socketioClients: 1000,
    // Idle connections: the goal of issue 18; capped below the gateway's `ulimit -n` (one descriptor per stream: fanout.ts).
    idle: { clients: 20_000, fleetProcesses: 4, perSecond: 5_000, maxPending: 2_000, settleMs: 3_000, heartbeatMs: 5_000, beats: 3 },
  },
  baselines: {
    ingestRepeats: 3,
    ingestConnections: 50,
    ingestMs: 10_000,
    ingestWarmupMs: 2_000,
    socketioClients: [1000, 5000],
    fleetProcesses: 2,
    settleMs: 3_000,
    windows: 3,
    windowMs: 5_000,
    closeWaitMs: 1_000,
    copyRows: 100_000,
    copyRepeats: 3,
    flushBatch: 5_000,
  },
  // ≥ 20 M ticks over 5 symbols and 5 days (about 5 GB of disk while it runs), doc/performance.md#storage-20-m-ticks.
  storage: { days: 5, rowsPerDay: 4_200_000, candleDays: 400, tps: 100, reads: 300, drainRows: 100_000, heavyClients: 4 },
};

const QUICK: Config = {
  nominal: { ...FULL.nominal, repeats: 1, seconds: 6, warmupS: 3 },
  ramp: { ...FULL.ramp, startSingle: 200, startBatch: 600, warmupMs: 1_500, stepMs: 2_000, windows: 2, drainTimeoutMs: 8_000 },
  fanout: {
    ...FULL.fanout,
    phases: [{ clients: 1000 }, { clients: 5000 }, { clients: 5000, maxHz: 5 }],
    settleMs: 1_000,
    windows: 1,
    windowMs: 1_500,
    closeWaitMs: 500,
    idle: { ...(FULL.fanout.idle as NonNullable<Config['fanout']['idle']>), clients: 5_000, beats: 2 },
  },
  baselines: {
    ...FULL.baselines,
    ingestRepeats: 1,
    ingestMs: 2_000,
    ingestWarmupMs: 1_000,
    socketioClients: [1000],
    settleMs: 1_000,
    windows: 1,
    windowMs: 1_500,
    closeWaitMs: 500,
    copyRows: 20_000,
    copyRepeats: 1,
  },
  storage: { days: 2, rowsPerDay: 200_000, candleDays: 60, tps: 100, reads: 50, drainRows: 20_000, heavyClients: 4 },
};

type Name = keyof Config;
const SCENARIOS: { [K in Name]: (bench: Bench, config: Config[K], log: Log) => Promise<NonNullable<Results[K]>> } = {
  nominal,
  ramp,
  fanout,
  baselines,
  storage,
};
const isName = (name: string): name is Name => Object.hasOwn(SCENARIOS, name);

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
if (flag('help')) {
  console.log(
    'usage: npm run bench [-- --quick] [--only=nominal,ramp,fanout,baselines,storage] [--profile] [--no-build] [--keep-db] [--fanout-idle-only] [--set=NAME=VALUE …] [--ramp=single|batch] [--ramp-from=N]',
  );
  process.exit(0);
}
const quick = flag('quick');
const profile = flag('profile');
/** --set=NAME=VALUE: settings given to every service on top of the bench's own. */
const settings: Record<string, string> = {};
for (const arg of args.filter((a) => a.startsWith('--set='))) {
  const [name, ...value] = arg.slice('--set='.length).split('=');
  if (!/^[A-Z][A-Z0-9_]*$/.test(name) || value.length === 0) {
    process.stderr.write(`bench: ${arg}: expected --set=NAME=VALUE with NAME an environment variable\n`);
    process.exit(2);
  }
  settings[name] = value.join('=');
}
const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const rampKind = value('ramp');
if (rampKind !== undefined && rampKind !== 'single' && rampKind !== 'batch') {
  process.stderr.write(`bench: --ramp=${rampKind}: expected single or batch\n`);
  process.exit(2);
}
const rampFrom = value('ramp-from');
if (rampFrom !== undefined && !(Number.isInteger(Number(rampFrom)) && Number(rampFrom) > 0)) {
  process.stderr.write(`bench: --ramp-from=${rampFrom}: expected a positive whole number of ticks/s\n`);
  process.exit(2);
}
/** A run of changed settings or of part of a ramp: not the system's figures, so not latest.*. */
const experiment = Object.keys(settings).length > 0 || rampKind !== undefined || rampFrom !== undefined;
const only = (
  args
    .find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',') ?? Object.keys(SCENARIOS)
).filter(Boolean);
const unknown = only.find((name) => !isName(name));
if (unknown) throw new Error(`unknown scenario ${unknown}; known: ${Object.keys(SCENARIOS).join(', ')}`);
const scenarios = only.filter(isName);
const base = quick ? QUICK : FULL;
// The idle phase alone: no loaded phases, no Socket.IO comparison (they take minutes and a quiet machine).
const fanoutConfig: Config = flag('fanout-idle-only')
  ? { ...base, fanout: { ...base.fanout, phases: [], socketioClients: undefined } }
  : base;
const config: Config = {
  ...fanoutConfig,
  ramp: {
    ...fanoutConfig.ramp,
    ...(rampKind ? { kinds: [rampKind] } : {}),
    ...(rampFrom ? { startSingle: Number(rampFrom), startBatch: Number(rampFrom) } : {}),
  },
};

const started = Date.now();
const log: Log = (message) => process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}\n`);
const runId = new Date()
  .toISOString()
  .replace(/[-:]/g, '')
  .replace(/\.\d+Z$/, 'Z');
const resultsDir = join(ROOT, 'bench/results');
const logDir = join(ROOT, 'tmp/bench', runId);

const { redisUrl, pgBaseUrl } = driverEnv();

/** The bench FLUSHes its Redis database: refuse one that holds anything else. */
async function checkRedisDatabase(): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      const foreign = keys.find((k) => !k.startsWith('bench:'));
      if (foreign)
        throw new Error(
          `${redisUrl} holds keys that are not the bench's (e.g. ${foreign}); point BENCH_REDIS_URL at a database the bench may FLUSHDB`,
        );
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

function machine(bench: Bench): Results['machine'] {
  const git = (...a: string[]) => {
    try {
      return execFileSync('git', a, { cwd: ROOT }).toString().trim();
    } catch {
      return undefined;
    }
  };
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model?.trim(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: bench.versions.redis,
    postgres: bench.versions.postgres,
    loadAverage: os.loadavg().map((v) => Number(v.toFixed(2))),
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: !!git('status', '--porcelain', '--', 'apps', 'libs'),
  };
}

async function runScenario<K extends Name>(name: K, bench: Bench, results: Results): Promise<void> {
  const scenario = SCENARIOS[name] as (bench: Bench, config: Config[K], log: Log) => Promise<NonNullable<Results[K]>>;
  results[name] = await scenario(bench, config[name], log);
}

async function main(): Promise<void> {
  defaultRedisServer(redisUrl);
  // Redis and PostgreSQL up (started when local and down): what `npm test` runs first, too.
  const services = spawnSync(process.execPath, [join(ROOT, 'tools/services.mjs'), 'ensure'], {
    cwd: ROOT,
    stdio: ['ignore', 2, 2],
    env: inheritedEnv(),
  });
  if (services.status !== 0) throw new Error('Redis or PostgreSQL is not available (tools/services.mjs ensure)');
  if (!flag('no-build')) {
    log('building the apps (nx, cached when unchanged)');
    const build = spawnSync(
      'npx',
      ['nx', 'run-many', '-t', 'build', '--projects=orchestrator-api,consumers,feeder,realtime-gateway', '--outputStyle=static'],
      {
        cwd: ROOT,
        stdio: ['ignore', 2, 2],
        env: { ...inheritedEnv(), NX_NO_CLOUD: 'true', NX_DAEMON: 'false' },
      },
    );
    if (build.status !== 0) throw new Error('build failed');
  }
  await checkRedisDatabase();
  mkdirSync(resultsDir, { recursive: true });
  // The run's own copy of the built apps: dist/ is shared, and a build by anyone else during
  // the run must not change what is measured half-way (node_modules still resolve from ROOT).
  const distDir = join(logDir, 'apps');
  for (const app of Object.values(APPS)) cpSync(join(ROOT, 'dist/apps', app), join(distDir, app), { recursive: true });
  const bench = new Bench({
    redisUrl,
    pgBaseUrl,
    runId,
    logDir,
    distDir,
    profileDir: profile ? join(logDir, 'profiles') : undefined,
    settings,
    quiet: quick ? { probes: 1, probeMs: 300, maxWaitMs: 20_000 } : { probes: 2, probeMs: 1_000, maxWaitMs: 180_000 },
    scrapeTimeoutMs: quick ? 3_000 : 15_000,
    log,
  });
  const stop = async (signal: string) => {
    log(`${signal}: stopping`);
    await bench.tearDown({ keepDatabase: flag('keep-db') }).catch(() => undefined);
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  await bench.redis.flushdb();
  await bench.setUp();
  const results: Results = {
    schema: 1,
    runId,
    quick,
    profile,
    ...(experiment ? { settings } : {}),
    ...(rampKind || rampFrom ? { rampPart: { kind: rampKind ?? 'single and batch', from: rampFrom ? Number(rampFrom) : undefined } } : {}),
    startedAt: new Date(started).toISOString(),
    machine: machine(bench),
    config,
    logDir,
  };
  log(`run ${runId}${quick ? ' (quick)' : ''}: ${scenarios.join(', ')}; logs in ${logDir}`);
  try {
    for (const name of scenarios) {
      const phaseStart = Date.now();
      try {
        await runScenario(name, bench, results);
      } catch (error) {
        const e = error as Error;
        log(`${name} failed: ${e?.stack ?? e}`);
        results[name] = { error: String(e?.message ?? e) };
        await bench.stopAll().catch(() => undefined);
      }
      log(`${name} took ${((Date.now() - phaseStart) / 1000).toFixed(0)} s`);
    }
  } finally {
    await bench.tearDown({ keepDatabase: flag('keep-db') });
  }
  if (profile && bench.profileDir) results.profiles = summarizeProfiles(bench.profileDir);
  results.finishedAt = new Date().toISOString();
  results.targets = judge(results);

  const report = markdown(results);
  const rampResult = succeeded(results.ramp);
  const svg = rampChart(
    rampResult,
    `${runId}${quick ? ' (quick)' : ''}: ${results.machine.cores} cores, ${results.machine.cpuModel}; Node ${results.machine.node}`,
  );
  const stem = profile ? `${runId}.profile` : experiment ? `${runId}.set` : runId;
  const names = profile || experiment ? [stem] : [stem, 'latest'];
  for (const name of names) {
    writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(resultsDir, `${name}.md`), report);
    if (rampResult?.single) writeFileSync(join(resultsDir, `${name}.svg`), svg);
  }
  process.stdout.write(report);
  log(`wrote ${names.map((n) => `bench/results/${n}.json`).join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error: Error) => {
  log(`failed: ${error?.stack ?? error}`);
  process.exit(1);
});
