#!/usr/bin/env node
/**
 * `npm run test:deploy`: the deployment proven by running it (needs a Docker engine; not part
 * of `npm test`). From the working tree it
 *   1. builds every image (the root Dockerfile, once per app: APP build argument), timing each;
 *   2. brings docker-compose.yml up under its own project name, with generated secrets and free
 *      host ports, and waits for every healthcheck (time to healthy per service);
 *   3. proves, through the published ports only: a tick posted with Basic Auth is answered 200,
 *      shows in GET /symbols/:id and is served by GET /symbols/:id/history from PostgreSQL; the
 *      gateway's SSE stream delivers the symbol.updated it caused; the dashboard serves the app
 *      and its /api proxy answers;
 *   4. checks every app container runs as a non-root user on a read-only root filesystem, and
 *      that the api does not publish its internal port;
 *   5. restarts orchestrator-api while the feeder runs, then compares the ticks the feeder
 *      was answered `accepted` (or `duplicate`: accepted by an earlier try) with md_ticks;
 *   6. `down -v`, and checks that no container, network or volume of the project is left.
 * Prints each image's size and build time and each service's time to healthy; on a failure,
 * exits 1 with the failing service's last log lines. Uses `docker compose` (v2) where present,
 * Debian's `docker-compose` (v1) otherwise. Options: --keep (leave the stack up, passed or failed, to look
 * at it; remove it with the `down -v` command it prints).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPOSE_GENERATED, ensureEnvFile } from './env-secrets.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const PROJECT = 'md-deploy-test';
const KEEP = process.argv.includes('--keep');
const NEST_APPS = ['orchestrator-api', 'realtime-gateway', 'consumers', 'feeder'];
const APPS = [...NEST_APPS, 'dashboard'];
const SERVICES = ['redis', 'postgres', ...APPS];
const IMAGE_PREFIX = 'md-deploy-test';
const IMAGE_TAG = 'local';
/** Ticks of this source are the test's own; every other row in md_ticks is the feeder's. */
const TEST_SOURCE = 'deploy-test';

const t0 = Date.now();
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const log = (message) => console.log(`[test:deploy ${seconds(Date.now() - t0).padStart(7)}] ${message}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A failure that names the service whose logs explain it. */
class DeployFailure extends Error {
  constructor(message, service) {
    super(message);
    this.service = service;
  }
}
const check = (condition, message, service) => {
  if (!condition) throw new DeployFailure(message, service);
};

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) throw result.error;
  return result;
}
function runOk(command, args, options = {}) {
  const result = run(command, args, options);
  if (result.status !== 0) {
    throw new DeployFailure(
      `${command} ${args.join(' ')} exited ${result.status}:\n${(result.stderr || result.stdout || '').trim().split('\n').slice(-30).join('\n')}`,
      options.service,
    );
  }
  return result.stdout;
}

/** `docker compose` (v2) where present, else Debian's `docker-compose` (v1). */
function composeCli() {
  if (run('docker', ['compose', 'version']).status === 0) return { command: 'docker', prefix: ['compose'], name: 'docker compose (v2)' };
  if (run('docker-compose', ['version']).status === 0) return { command: 'docker-compose', prefix: [], name: 'docker-compose (v1)' };
  throw new DeployFailure('neither `docker compose` (v2) nor `docker-compose` (v1) is installed');
}

/** A free TCP port on this host (for the stack's published ports: other stacks may hold 3000). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function main() {
  run('docker', ['info']).status === 0 ||
    fail('no Docker engine answers `docker info` (on this machine: ../shared/tools/docker-offline.sh)');
  const cli = composeCli();
  const work = mkdtempSync(join(tmpdir(), 'md-deploy-test-'));
  // Secrets from the same generator as `npm run compose:env`, in a file of the test's own.
  const envFile = join(work, '.env');
  const { env: secrets } = ensureEnvFile(envFile, COMPOSE_GENERATED, '# npm run test:deploy (temporary)\n');
  const ports = { API_PORT: await freePort(), GATEWAY_PORT: await freePort(), DASHBOARD_PORT: await freePort() };
  // Only what compose needs: the caller's shell (an API_KEY exported for the demo, say) must
  // not override the generated values.
  const composeEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // Where the engine and the CLI's plugins (compose v2) are, when the caller says so.
    ...Object.fromEntries(
      ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG'].filter((key) => process.env[key]).map((key) => [key, process.env[key]]),
    ),
    ...secrets,
    ...Object.fromEntries(Object.entries(ports).map(([key, value]) => [key, String(value)])),
    IMAGE_PREFIX,
    IMAGE_TAG,
    FEEDER_TPS: '20',
    COMPOSE_PROJECT_NAME: PROJECT,
  };
  const compose = (args, options = {}) =>
    run(cli.command, [...cli.prefix, '--env-file', envFile, '-p', PROJECT, '-f', join(ROOT, 'docker-compose.yml'), ...args], {
      env: composeEnv,
      ...options,
    });
  const composeAsync = (args) =>
    new Promise((resolve) => {
      const child = spawn(
        cli.command,
        [...cli.prefix, '--env-file', envFile, '-p', PROJECT, '-f', join(ROOT, 'docker-compose.yml'), ...args],
        { cwd: ROOT, env: composeEnv },
      );
      let stderr = '';
      child.stdout.resume();
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('close', (status) => resolve({ status, stderr }));
    });
  const composeOk = (args, options = {}) => {
    const result = compose(args, options);
    if (result.status !== 0)
      throw new DeployFailure(
        `compose ${args.join(' ')} exited ${result.status}:\n${(result.stderr || '').trim().split('\n').slice(-20).join('\n')}`,
        options.service,
      );
    return result.stdout;
  };
  const report = { images: [], healthy: {}, restart: {} };
  let failed = true;
  try {
    log(`${cli.name}; project ${PROJECT}; ports ${JSON.stringify(ports)}`);
    compose(['down', '-v', '--remove-orphans']); // a run that was killed may have left its stack

    // 1. Images, one at a time (2 cores), all from the root Dockerfile: they share the deps layer.
    for (const app of APPS) {
      const tag = `${IMAGE_PREFIX}/${app}:${IMAGE_TAG}`;
      const started = Date.now();
      const result = run('docker', ['build', '--force-rm', '--build-arg', `APP=${app}`, '-t', tag, '.']);
      if (result.status !== 0)
        throw new DeployFailure(
          `docker build of ${app} failed:\n${`${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-40).join('\n')}`,
        );
      const ms = Date.now() - started;
      const cached = (result.stdout.match(/Using cache/g) ?? []).length;
      const size = Number(runOk('docker', ['image', 'inspect', '--format', '{{.Size}}', tag]).trim());
      report.images.push({ app, ms, size, cached });
      log(`built ${tag}: ${seconds(ms)}, ${(size / 1e6).toFixed(0)} MB${cached ? ` (${cached} cached steps)` : ''}`);
    }

    // 2. Up, and every healthcheck healthy. `up -d` itself waits for the healthy dependencies
    // (depends_on), so each service's time is read from the engine while it runs.
    const upAt = Date.now();
    const up = composeAsync(['up', '-d', '--no-build']);
    const ids = {};
    const healthyAll = waitHealthy(ids, upAt, report.healthy, () => containersOf(PROJECT, ids));
    healthyAll.catch(() => undefined); // awaited below, after `up` has returned
    const upResult = await up;
    if (upResult.status !== 0)
      throw new DeployFailure(`compose up -d exited ${upResult.status}:\n${upResult.stderr.trim().split('\n').slice(-20).join('\n')}`);
    await healthyAll;
    log(`every service healthy after ${seconds(Date.now() - upAt)}`);

    // 3. Through the published ports.
    const api = `http://127.0.0.1:${ports.API_PORT}`;
    const gateway = `http://127.0.0.1:${ports.GATEWAY_PORT}`;
    const dashboard = `http://127.0.0.1:${ports.DASHBOARD_PORT}`;
    const basic = `Basic ${Buffer.from(`${secrets.INGEST_USERNAME}:${secrets.INGEST_PASSWORD}`).toString('base64')}`;
    const keyed = { 'x-api-key': secrets.API_KEY };
    const symbol = `DT${randomUUID().replaceAll('-', '').slice(0, 8).toUpperCase()}`;
    const eventId = randomUUID();

    const stream = openSse(`${gateway}/stream?symbols=${symbol}&types=symbol.updated`, keyed);
    try {
      await stream.waitFor((event) => event.event === 'snapshot', 15_000, 'the SSE snapshot');
      const tick = { symbol, price: 101.25, volume: 2, source: TEST_SOURCE, ts: Date.now(), event_id: eventId };
      const posted = await request('POST', `${api}/ingest/tick`, {
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify(tick),
      });
      check(
        posted.status === 200 && JSON.parse(posted.body).status === 'accepted',
        `POST /ingest/tick answered ${posted.status} ${posted.body}`,
        'orchestrator-api',
      );
      log(`POST /ingest/tick ${symbol} → 200 accepted`);
      const update = await stream.waitFor(
        (event) => event.event === 'symbol.updated' && JSON.parse(event.data).symbol === symbol,
        20_000,
        `symbol.updated of ${symbol} on the SSE stream`,
      );
      log(`SSE /stream delivered symbol.updated of ${symbol} (id ${update.id})`);
    } catch (error) {
      // The view comes from calc-a and calc-b through the api to the gateway: any of them.
      throw error instanceof DeployFailure
        ? error
        : new DeployFailure(error.message, ['consumers', 'orchestrator-api', 'realtime-gateway']);
    } finally {
      stream.close();
    }
    const view = await poll(async () => {
      const answer = await request('GET', `${api}/symbols/${symbol}`, { headers: keyed });
      return answer.status === 200 ? JSON.parse(answer.body) : undefined;
    }, 20_000);
    check(
      view?.symbol === symbol && view.price === 101.25,
      `GET /symbols/${symbol} never answered the view (last: ${JSON.stringify(view)})`,
      'consumers',
    );
    log(`GET /symbols/${symbol} → 200, price ${view.price}`);
    const row = await poll(async () => {
      const answer = await request('GET', `${api}/symbols/${symbol}/history?limit=5`, { headers: keyed });
      return answer.status === 200 ? JSON.parse(answer.body).find((r) => r.event_id === eventId) : undefined;
    }, 30_000);
    check(row, `GET /symbols/${symbol}/history never served ${eventId} from PostgreSQL`, 'orchestrator-api');
    log(`GET /symbols/${symbol}/history → the tick's row from PostgreSQL`);

    const page = await request('GET', `${dashboard}/`);
    check(page.status === 200 && /<html/i.test(page.body), `dashboard GET / answered ${page.status}`, 'dashboard');
    const proxied = await request('GET', `${dashboard}/api/symbols/${symbol}`);
    check(
      proxied.status === 200 && JSON.parse(proxied.body).symbol === symbol,
      `dashboard GET /api/symbols/${symbol} answered ${proxied.status} ${proxied.body.slice(0, 200)}`,
      'dashboard',
    );
    log('dashboard serves the app, and its /api proxy answers (key added server-side)');

    // 4. Hardening, as the engine reports it.
    for (const app of APPS) {
      const [user, readOnly, capDrop] = runOk('docker', [
        'inspect',
        '--format',
        '{{.Config.User}}|{{.HostConfig.ReadonlyRootfs}}|{{.HostConfig.CapDrop}}',
        ids[app],
      ])
        .trim()
        .split('|');
      const uid = runOk('docker', ['exec', ids[app], 'id', '-u'], { service: app }).trim();
      check(uid !== '0' && user !== '' && user !== 'root', `${app} runs as uid ${uid} (user '${user}')`, app);
      check(readOnly === 'true', `${app}: root filesystem not read-only`, app);
      check(run('docker', ['exec', ids[app], 'sh', '-c', 'touch /app/.write-test']).status !== 0, `${app}: could write to /app`, app);
      check(/ALL/.test(capDrop), `${app}: capabilities not dropped (${capDrop})`, app);
    }
    log(`every app runs as a non-root user (uid 1000) with a read-only root filesystem and no capabilities`);
    const published = runOk('docker', ['port', ids['orchestrator-api']]);
    check(!/3100/.test(published), `orchestrator-api publishes its internal port: ${published}`, 'orchestrator-api');
    const internal = await request('POST', `${api}/internal/agg-update`, { headers: { 'content-type': 'application/json' }, body: '{}' });
    check(internal.status === 404, `POST /internal/agg-update on the public port answered ${internal.status}, not 404`, 'orchestrator-api');
    log('the internal listener is not published, and /internal/* is not served on the public port');

    // 5. Restart the api while the feeder runs; no accepted tick is lost.
    await sleep(3_000);
    const restartAt = Date.now();
    composeOk(['restart', 'orchestrator-api'], { service: 'orchestrator-api' });
    // `restart` returns once the container runs again; ready is when its public port says so.
    const ready = await poll(async () => ((await request('GET', `${api}/health/readiness`)).status === 200 ? true : undefined), 60_000);
    check(ready, 'orchestrator-api not ready again within 60 s of its restart', 'orchestrator-api');
    report.restart['orchestrator-api'] = Date.now() - restartAt;
    log(`orchestrator-api restarted and healthy again after ${seconds(Date.now() - restartAt)}; feeding on for 5 s`);
    await sleep(5_000);
    // SIGTERM: the feeder stops generating, its in-flight requests finish, it logs its last progress line.
    composeOk(['stop', 'feeder'], { service: 'feeder' });
    const totals = feederTotals(composeOk(['logs', '--no-color', 'feeder'], { service: 'feeder' }));
    check(totals.accepted > 0, `the feeder reports no accepted tick: ${JSON.stringify(totals)}`, 'feeder');
    const expected = totals.accepted + totals.duplicate;
    const countRows = () =>
      Number(
        composeOk(
          [
            'exec',
            '-T',
            'postgres',
            'psql',
            '-U',
            'market',
            '-d',
            'market',
            '-tAc',
            `SELECT count(*) FROM md_ticks WHERE source <> '${TEST_SOURCE}'`,
          ],
          { service: 'postgres' },
        ).trim(),
      );
    let rows = 0;
    await poll(async () => ((rows = countRows()) >= expected ? rows : undefined), 30_000);
    log(`feeder: ${JSON.stringify(totals)}; md_ticks holds ${rows} of its ticks`);
    check(
      rows >= expected,
      `lost accepted ticks: the feeder was answered accepted/duplicate for ${expected}, md_ticks holds ${rows}`,
      'orchestrator-api',
    );
    check(rows <= totals.sent, `md_ticks holds ${rows} feeder ticks, more than the ${totals.sent} it sent`, 'orchestrator-api');
    log(
      `no accepted tick lost across the restart (${totals.accepted} accepted + ${totals.duplicate} duplicate = ${expected} ≤ ${rows} rows ≤ ${totals.sent} sent${totals.failed ? `; ${totals.failed} failed after retries, never acknowledged` : ''})`,
    );

    // 6. JSON logs from the first line: every line every app wrote (the dashboard's server logs through pino too).
    for (const app of APPS) {
      const lines = runOk('docker', ['logs', ids[app]])
        .split('\n')
        .concat(run('docker', ['logs', ids[app]]).stderr.split('\n'))
        .filter(Boolean);
      const text = lines.filter((line) => !isJsonObject(line));
      check(text.length === 0, `${app} wrote non-JSON log lines, e.g. ${JSON.stringify(text.slice(0, 3))}`, app);
    }
    log('every app logged JSON only, from its first line');
    failed = false;
  } catch (error) {
    console.error(`\n[test:deploy] FAILED: ${error.message}\n`);
    const services = error.service ? [].concat(error.service) : APPS;
    for (const service of services) {
      const logs = compose(['logs', '--no-color', '--tail', '40', service]);
      console.error(`---- last log lines of ${service} ----\n${(logs.stdout || '') + (logs.stderr || '')}`);
    }
  } finally {
    if (!KEEP) {
      const downAt = Date.now();
      const down = compose(['down', '-v', '--remove-orphans']);
      const left = leftovers();
      if (down.status !== 0 || left) {
        console.error(`[test:deploy] FAILED: down -v left ${left || `an error: ${down.stderr}`}`);
        failed = true;
      } else log(`down -v in ${seconds(Date.now() - downAt)}: no container, network or volume of ${PROJECT} left`);
    } else log(`--keep: the stack stays up (${cli.name} -p ${PROJECT} --env-file ${envFile} down -v to remove it)`);
    if (!KEEP) rmSync(work, { recursive: true, force: true });
  }
  printReport(report);
  if (failed) process.exit(1);
  log('passed');
}

/** Containers, networks and volumes still labelled with the project, as one line (empty: none). */
function leftovers() {
  const label = `label=com.docker.compose.project=${PROJECT}`;
  const kinds = [
    ['containers', ['ps', '-a', '-q', '--filter', label]],
    ['networks', ['network', 'ls', '-q', '--filter', label]],
    ['volumes', ['volume', 'ls', '-q', '--filter', label]],
  ];
  return kinds
    .map(([kind, args]) => [kind, runOk('docker', args).trim().split('\n').filter(Boolean)])
    .filter(([, ids]) => ids.length > 0)
    .map(([kind, ids]) => `${ids.length} ${kind}`)
    .join(', ');
}

/** Fills `ids` (service → container id) with the project's containers that exist so far. */
function containersOf(project, ids) {
  const lines = runOk('docker', [
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--format',
    '{{.Label "com.docker.compose.service"}} {{.ID}} {{.Label "com.docker.compose.oneoff"}}',
  ]);
  for (const line of lines.trim().split('\n').filter(Boolean)) {
    const [service, id, oneoff] = line.split(' ');
    if (oneoff !== 'True' && SERVICES.includes(service)) ids[service] = id;
  }
}

/**
 * Waits until every service's healthcheck says healthy; records each one's time since `since`.
 * `discover` (optional) fills `ids` as containers appear, for services not created yet.
 */
async function waitHealthy(ids, since, healthy, discover, timeoutMs = 240_000) {
  const pending = new Set(discover ? SERVICES : Object.keys(ids));
  const last = {};
  while (pending.size > 0) {
    discover?.();
    for (const service of [...pending]) {
      if (!ids[service]) continue;
      const state = run('docker', [
        'inspect',
        '--format',
        '{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}',
        ids[service],
      ]).stdout.trim();
      const [status, health] = state.split('|');
      if (health === 'healthy') {
        healthy[service] = Date.now() - since;
        pending.delete(service);
      } else if (status === 'exited' || status === 'dead') {
        throw new DeployFailure(`${service} ${status}`, service);
      }
      // `unhealthy` is not final: the engine keeps probing (a loaded machine answers late).
      last[service] = health || status;
    }
    if (pending.size === 0) break;
    if (Date.now() - since > timeoutMs) {
      throw new DeployFailure(
        `not healthy after ${seconds(timeoutMs)}: ${[...pending].map((service) => `${service} (${last[service] ?? 'not created'})`).join(', ')}`,
        [...pending],
      );
    }
    await sleep(500);
  }
}

/** Sums the feeder's progress lines (each counts what happened since the previous one). */
function feederTotals(logs) {
  const totals = { sent: 0, accepted: 0, duplicate: 0, rejected: 0, failed: 0, retries: 0 };
  for (const line of logs.split('\n')) {
    const json = line.slice(line.indexOf('{'));
    if (!json.startsWith('{')) continue;
    try {
      const { progress } = JSON.parse(json);
      if (progress) for (const key of Object.keys(totals)) totals[key] += progress[key] ?? 0;
    } catch {
      // not a JSON line (compose's own prefix lines)
    }
  }
  return totals;
}

function isJsonObject(line) {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
}

async function poll(probe, timeoutMs, intervalMs = 500) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) return undefined;
    await sleep(intervalMs);
  }
}

function request(method, url, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A minimal Server-Sent Events reader: every event so far, and a wait for one that matches. */
function openSse(url, headers) {
  const events = [];
  const waiters = new Set();
  let failure;
  const req = http.get(url, { headers: { ...headers, accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) {
      failure = new Error(`GET ${url} answered ${res.statusCode}`);
      for (const waiter of waiters) waiter();
      return;
    }
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const field = line.slice(0, colon);
          const value = line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') event.data += value;
          else event[field] = value;
        }
        events.push(event);
        for (const waiter of waiters) waiter();
      }
    });
  });
  req.on('error', (error) => {
    failure = error;
    for (const waiter of waiters) waiter();
  });
  return {
    close: () => req.destroy(),
    waitFor(match, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`no ${what} within ${seconds(timeoutMs)}`));
        }, timeoutMs);
        function look() {
          if (failure) {
            clearTimeout(timer);
            waiters.delete(look);
            return reject(failure);
          }
          const found = events.find((event) => {
            try {
              return match(event);
            } catch {
              return false;
            }
          });
          if (found) {
            clearTimeout(timer);
            waiters.delete(look);
            resolve(found);
          }
        }
        waiters.add(look);
        look();
      });
    },
  };
}

function printReport({ images, healthy, restart }) {
  if (images.length > 0) {
    console.log('\nimage                          size     build time');
    for (const { app, ms, size, cached } of images) {
      console.log(
        `${`${IMAGE_PREFIX}/${app}`.padEnd(30)} ${`${(size / 1e6).toFixed(0)} MB`.padStart(7)}  ${seconds(ms).padStart(8)}${cached ? `  (${cached} steps from cache)` : ''}`,
      );
    }
  }
  if (Object.keys(healthy).length > 0) {
    console.log('\nservice              healthy after `up -d`');
    for (const [service, ms] of Object.entries(healthy)) console.log(`${service.padEnd(20)} ${seconds(ms).padStart(8)}`);
  }
  for (const [service, ms] of Object.entries(restart)) console.log(`${service} ready again ${seconds(ms)} after \`restart\``);
  console.log('');
}

function fail(message) {
  console.error(`[test:deploy] ${message}`);
  process.exit(1);
}

await main();
