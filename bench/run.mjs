#!/usr/bin/env node
/**
 * `npm run bench [-- options]`: starts the real stack (the built apps as separate processes,
 * on the bench's own Redis database and PostgreSQL database), drives it through the scenarios
 * of doc/performance.md, and writes bench/results/<UTC timestamp>.{json,md,svg} and
 * latest.{json,md,svg}; the markdown report goes to stdout, progress to stderr.
 *
 *   --quick             shorter phases, fewer repeats (under about 2 minutes)
 *   --only=a,b          scenarios to run: nominal, ramp, fanout, baselines, storage (default: all)
 *   --profile           runs the services under --cpu-prof and reports their top frames;
 *                       the figures are then skewed, so latest.* is not updated
 *   --no-build          use dist/apps as it is (default: nx build first; cached when unchanged)
 *   --keep-db           keep the PostgreSQL database afterwards (for inspection)
 * Env: BENCH_REDIS_URL (default redis://127.0.0.1:6379/9: a database the bench may FLUSHDB),
 * PG_URL (default postgres://postgres@127.0.0.1:5432/postgres: where the bench creates its database).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ensurePostgres, ensureRedis } from '../tools/services.mjs';
import { rampChart } from './lib/chart.mjs';
import { summarizeProfiles } from './lib/cpuprofile.mjs';
import { judge, markdown } from './lib/report.mjs';
import { ROOT } from './lib/service.mjs';
import { APPS, Bench } from './lib/stack.mjs';
import { baselines } from './scenarios/baselines.mjs';
import { fanout } from './scenarios/fanout.mjs';
import { nominal } from './scenarios/nominal.mjs';
import { ramp } from './scenarios/ramp.mjs';
import { storage } from './scenarios/storage.mjs';

const FULL = {
  nominal: { repeats: 3, seconds: 60, warmupS: 10, tps: 100, clients: 20 },
  ramp: { startSingle: 100, startBatch: 200, maxRate: 100_000, warmupMs: 5_000, stepMs: 15_000, windows: 3, drainTimeoutMs: 30_000, connectionsSingle: 64, connectionsBatch: 16 },
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
    // Idle connections: under the machine's `ulimit -n` (20,000 here: the gateway holds one descriptor per stream).
    idle: { clients: 19_500, fleetProcesses: 4, perSecond: 5_000, settleMs: 3_000, heartbeatMs: 5_000, beats: 3 },
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

const QUICK = {
  nominal: { ...FULL.nominal, repeats: 1, seconds: 6, warmupS: 3 },
  ramp: { ...FULL.ramp, startSingle: 200, startBatch: 600, warmupMs: 1_500, stepMs: 2_000, windows: 2, drainTimeoutMs: 8_000 },
  fanout: {
    ...FULL.fanout,
    phases: [{ clients: 1000 }, { clients: 5000 }, { clients: 5000, maxHz: 5 }],
    settleMs: 1_000,
    windows: 1,
    windowMs: 1_500,
    closeWaitMs: 500,
    idle: { ...FULL.fanout.idle, clients: 5_000, beats: 2 },
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

const SCENARIOS = { nominal, ramp, fanout, baselines, storage };

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
if (flag('help')) {
  console.log('usage: npm run bench [-- --quick] [--only=nominal,ramp,fanout,baselines,storage] [--profile] [--no-build] [--keep-db]');
  process.exit(0);
}
const quick = flag('quick');
const profile = flag('profile');
const only = (args.find((a) => a.startsWith('--only='))?.slice(7).split(',') ?? Object.keys(SCENARIOS)).filter(Boolean);
for (const name of only) if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
const config = quick ? QUICK : FULL;

const started = Date.now();
const log = (message) => process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}\n`);
const runId = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const resultsDir = join(ROOT, 'bench/results');
const logDir = join(ROOT, 'tmp/bench', runId);

const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/9';
const pgBaseUrl = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The bench FLUSHes its Redis database: refuse one that holds anything else. */
async function checkRedisDatabase() {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      const foreign = keys.find((k) => !k.startsWith('bench:'));
      if (foreign) throw new Error(`${redisUrl} holds keys that are not the bench's (e.g. ${foreign}); point BENCH_REDIS_URL at a database the bench may FLUSHDB`);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

function machine(bench) {
  const git = (...a) => {
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

async function main() {
  process.env.REDIS_URL ??= redisUrl.replace(/\/\d+$/, '');
  log(`services: redis ${await ensureRedis()}, postgres ${await ensurePostgres()}`);
  if (!flag('no-build')) {
    log('building the apps (nx, cached when unchanged)');
    const build = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '--projects=orchestrator-api,consumers,feeder,realtime-gateway', '--outputStyle=static'], {
      cwd: ROOT,
      stdio: ['ignore', 2, 2],
      env: { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false' },
    });
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
    quiet: quick ? { probes: 1, probeMs: 300, maxWaitMs: 20_000 } : { probes: 2, probeMs: 1_000, maxWaitMs: 180_000 },
    scrapeTimeoutMs: quick ? 3_000 : 15_000,
    log,
  });
  const stop = async (signal) => {
    log(`${signal}: stopping`);
    await bench.tearDown({ keepDatabase: flag('keep-db') }).catch(() => undefined);
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  await bench.redis.flushdb();
  await bench.setUp();
  const results = { schema: 1, runId, quick, profile, startedAt: new Date(started).toISOString(), machine: machine(bench), config, logDir };
  log(`run ${runId}${quick ? ' (quick)' : ''}: ${only.join(', ')}; logs in ${logDir}`);
  try {
    for (const name of only) {
      const phaseStart = Date.now();
      try {
        results[name] = await SCENARIOS[name](bench, config[name], log);
      } catch (error) {
        log(`${name} failed: ${error.stack ?? error}`);
        results[name] = { error: String(error.message ?? error) };
        await bench.stopAll().catch(() => undefined);
      }
      log(`${name} took ${((Date.now() - phaseStart) / 1000).toFixed(0)} s`);
    }
  } finally {
    await bench.tearDown({ keepDatabase: flag('keep-db') });
  }
  if (profile) results.profiles = summarizeProfiles(bench.profileDir);
  results.finishedAt = new Date().toISOString();
  results.targets = judge(results);

  const report = markdown(results);
  const svg = rampChart(results.ramp, `${runId}${quick ? ' (quick)' : ''}: ${results.machine.cores} cores, ${results.machine.cpuModel}; Node ${results.machine.node}`);
  const stem = profile ? `${runId}.profile` : runId;
  const names = profile ? [stem] : [stem, 'latest'];
  for (const name of names) {
    writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(resultsDir, `${name}.md`), report);
    if (results.ramp?.single) writeFileSync(join(resultsDir, `${name}.svg`), svg);
  }
  process.stdout.write(report);
  log(`wrote ${names.map((n) => `bench/results/${n}.json`).join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error) => {
  log(`failed: ${error.stack ?? error}`);
  process.exit(1);
});
