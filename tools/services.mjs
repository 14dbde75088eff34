#!/usr/bin/env node
/**
 * Makes sure the Redis and PostgreSQL that tests (and the demo) use are up.
 *   node tools/services.mjs ensure [--redis-only]
 * Redis: REDIS_URL (default redis://127.0.0.1:6379). PostgreSQL: PG_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres). When nothing answers at a local default,
 * starts the server the way this machine's images do; otherwise fails saying what to do.
 */
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import net from 'node:net';

// Read when called, not when loaded: the demo sets them from .env.local first.
const redisUrl = () => new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const pgUrl = () => new URL(process.env.PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isLocal = (host) => ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Sends `probe` to host:port and resolves to the first chunk of the answer, or undefined. */
function ask(host, port, probe, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (value) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('connect', () => (probe ? socket.write(probe) : done('')));
    socket.on('data', (data) => done(data.toString()));
  });
}

const redisUp = async () => (await ask(redisUrl().hostname, Number(redisUrl().port || 6379), 'PING\r\n'))?.includes('PONG') ?? false;
const pgUp = async () => (await ask(pgUrl().hostname, Number(pgUrl().port || 5432), null)) !== undefined;

/** Whether something accepts TCP connections at host:port. */
export const listening = async (host, port) => (await ask(host, port, null)) !== undefined;

async function waitFor(check, what, ms = 20_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`${what} did not come up within ${ms / 1000}s`);
}

export async function ensureRedis() {
  const REDIS_URL = redisUrl();
  if (await redisUp()) return 'running';
  if (!isLocal(REDIS_URL.hostname)) fail(`Redis at ${REDIS_URL.host} does not answer PING. Start it or fix REDIS_URL.`);
  if (!has('redis-server'))
    fail('Redis is not running and redis-server is not installed. Install it (apt-get install -y redis-server) or set REDIS_URL.');
  const dir = existsSync('/var/lib/redis') ? '/var/lib/redis' : '/tmp';
  const log = existsSync('/var/log/redis') ? '/var/log/redis/ci.log' : '/tmp/redis-ci.log';
  mkdirSync(dir, { recursive: true });
  execSync(
    `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port ${REDIS_URL.port || 6379} --save "" --appendonly no --dir ${dir} --logfile ${log}`,
    { stdio: 'inherit' },
  );
  await waitFor(redisUp, 'redis-server');
  return 'started';
}

export async function ensurePostgres() {
  const PG_URL = pgUrl();
  if (await pgUp()) return 'running';
  if (!isLocal(PG_URL.hostname)) fail(`PostgreSQL at ${PG_URL.host} does not accept connections. Start it or fix PG_URL.`);
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
  if (!has('pg_ctlcluster') || versions.length === 0) {
    fail(
      'PostgreSQL is not running on 127.0.0.1:5432 and no local cluster was found. Install and start it (apt-get install -y postgresql), or set PG_URL.',
    );
  }
  execSync(`pg_ctlcluster --skip-systemctl-redirect ${versions[0]} main start`, { stdio: 'inherit' });
  await waitFor(pgUp, 'PostgreSQL');
  return 'started';
}

/** Creates the database named in `pgUrl` if it does not exist yet (connecting to `postgres`). */
export async function ensureDatabase(pgUrl) {
  const { Client } = await import('pg');
  const url = new URL(pgUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return rowCount ? 'exists' : 'created';
  } finally {
    await client.end();
  }
}

function fail(message) {
  console.error(`services: ${message}`);
  process.exit(1);
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const [command = 'ensure', ...flags] = process.argv.slice(2);
  if (command !== 'ensure') fail(`unknown command ${command}; use: node tools/services.mjs ensure [--redis-only]`);
  console.log(`services: redis ${await ensureRedis()} at ${redisUrl().host}`);
  if (!flags.includes('--redis-only')) console.log(`services: postgres ${await ensurePostgres()} at ${pgUrl().host}`);
}
