import { spawnSync } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { TickChunkJob } from '@md/pipeline';
import { redisOptionsFromUrl } from '@md/redis';
import { dropKeys, isolated, REDIS_URL, ServiceProcess } from '@md/testing';

/**
 * The feeder as deployed (a built process) against a real orchestrator-api process and the
 * real Redis: it must deliver exactly the ticks it meant to, once each, also when the api
 * answers 503 to its first requests (some of them after storing the tick).
 */
const AUTH = { INGEST_USERNAME: 'feeder', INGEST_PASSWORD: 'integration-secret' };

async function startApi(env: Record<string, string>) {
  return ServiceProcess.start('orchestrator-api', {
    ...env,
    REDIS_URL,
    INTERNAL_TOKEN: 'integration-internal-token',
    FLUSH_ENABLED: 'false',
    ...AUTH,
  });
}

/**
 * The event_ids of the ticks in the waiting jobs (each job holds up to 100 ticks of one ingest
 * round): no consumer runs in these tests, so jobs stay in the queue.
 */
async function queued(prefix: string): Promise<string[]> {
  const queue = new Queue<TickChunkJob>('ticks.received', { connection: redisOptionsFromUrl(REDIS_URL), prefix: `${prefix}:bull` });
  const jobs = await queue.getWaiting(0, -1);
  await queue.close();
  return jobs.flatMap((job) => job.data.ticks.map((tick) => tick.event_id));
}

/**
 * A proxy answering 503 to the first `failures` requests. Every other failure is forwarded to
 * the api first and its answer dropped: the tick is stored, the feeder sees a 503 and retries.
 */
function flakyProxy(target: string, failures: number): Promise<{ server: Server; url: string; failed: () => number }> {
  let seen = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = ++seen;
      const forward = (onAnswer: (status: number, headers: Record<string, string>, body: Buffer) => void) => {
        const upstream = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c: Buffer) => body.push(c));
          answer.on('end', () => onAnswer(answer.statusCode ?? 502, answer.headers as Record<string, string>, Buffer.concat(body)));
        });
        upstream.end(Buffer.concat(chunks));
      };
      const fail = () => res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' }).end('{"statusCode":503}');
      if (n > failures) forward((status, headers, body) => res.writeHead(status, headers).end(body));
      else if (n % 2 === 0) forward(() => fail());
      else fail();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, failed: () => Math.min(seen, failures) }),
    ),
  );
}

describe('feeder (real processes, real api and Redis)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];

  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  /** The built feeder posting single ticks (or BATCH_SIZE batches) to `apiUrl`, with the test credentials; done after COUNT ticks. */
  const startFeeder = (apiUrl: string, env: Record<string, string>) =>
    ServiceProcess.start('feeder', { ...AUTH, TARGET_URL: `${apiUrl}/ingest/tick`, ...env }, { finite: true });

  it('COUNT=500 at TPS=100 ends with 500 accepted ticks in the queue and exits 0', async () => {
    const env = isolated();
    const api = await startApi(env);
    cleanup.push(
      () => api.kill(),
      () => dropKeys(REDIS_URL, env.REDIS_PREFIX),
    );

    const feeder = await startFeeder(api.url, { COUNT: '500', TPS: '100', SEED: 'integration', LOG_LEVEL: 'info' });

    expect(await feeder.exited()).toBe(0);
    const ids = await queued(env.REDIS_PREFIX);
    expect(ids).toHaveLength(500);
    expect(new Set(ids).size).toBe(500);
    // The last progress line covers the end of the run; together the lines add up to the run.
    const lines = feeder.output
      .join('')
      .split('\n')
      .filter((l) => l.includes('"progress"'))
      .map((l) => JSON.parse(l).progress);
    const total = (key: string) => lines.reduce((n, p) => n + p[key], 0);
    expect({ sent: total('sent'), accepted: total('accepted'), rejected: total('rejected'), failed: total('failed') }).toEqual({
      sent: 500,
      accepted: 500,
      rejected: 0,
      failed: 0,
    });
  });

  it.each([
    ['single ticks', '1'],
    ['batches of 25', '25'],
  ])('an api answering 503 to its first requests still gets every tick exactly once (%s)', async (_name, batchSize) => {
    const env = isolated();
    const api = await startApi(env);
    const proxy = await flakyProxy(api.url, 12);
    cleanup.push(
      () => api.kill(),
      () => new Promise((r) => proxy.server.close(r)),
      () => dropKeys(REDIS_URL, env.REDIS_PREFIX),
    );

    const feeder = await startFeeder(proxy.url, { COUNT: '200', TPS: '200', BATCH_SIZE: batchSize, SEED: 'flaky' });

    expect(await feeder.exited()).toBe(0);
    expect(proxy.failed()).toBe(12);
    const ids = await queued(env.REDIS_PREFIX);
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
    const redis = new Redis(REDIS_URL);
    expect(await redis.keys(`${env.REDIS_PREFIX}:dedupe:*`)).toHaveLength(200);
    await redis.quit();
  });

  /** A real HTTP server standing in for the api: 401 to the first `unauthorized` requests (all: -1), then 200 accepted. */
  function refusingApi(unauthorized: number): Promise<{ server: Server; url: string; seen: { id: string; status: number }[] }> {
    const seen: { id: string; status: number }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        const id = (JSON.parse(body) as { event_id: string }).event_id;
        const status = unauthorized < 0 || seen.length < unauthorized ? 401 : 200;
        seen.push({ id, status });
        if (status === 401) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="ingest"' }).end('{"statusCode":401}');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ event_id: id, status: 'accepted' }));
      });
    });
    return new Promise((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve({ server, seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })),
    );
  }
  const progressOf = (feeder: ServiceProcess) => {
    const lines = feeder.output
      .join('')
      .split('\n')
      .filter((l) => l.includes('"progress"'))
      .map((l) => JSON.parse(l).progress);
    const total = (key: string) => lines.reduce((n, p) => n + p[key], 0);
    return { accepted: total('accepted'), rejected: total('rejected'), failed: total('failed') };
  };
  const credentialErrors = (feeder: ServiceProcess) =>
    feeder.output
      .join('')
      .split('\n')
      .filter((l) => l.includes('refuses the ingest credentials') && JSON.parse(l).level === 'error');

  /** A feeder at 50 ticks/s against refusingApi(`unauthorized`), with `env` on top. */
  async function feedRefusingApi(unauthorized: number, env: Record<string, string>) {
    const api = await refusingApi(unauthorized);
    cleanup.push(() => new Promise((r) => api.server.close(r)));
    const feeder = await startFeeder(api.url, { TPS: '50', SEED: 'auth', LOG_LEVEL: 'info', ...env });
    return { api, feeder };
  }

  it('a 401 is retried with the same event_id, never a rejection, and logged once per burst', async () => {
    const { api, feeder } = await feedRefusingApi(6, { COUNT: '4', MAX_IN_FLIGHT: '1' });

    expect(await feeder.exited()).toBe(0);
    expect(progressOf(feeder)).toEqual({ accepted: 4, rejected: 0, failed: 0 });
    const refused = api.seen.filter((s) => s.status === 401).map((s) => s.id);
    const accepted = api.seen.filter((s) => s.status === 200).map((s) => s.id);
    expect(refused).toHaveLength(6);
    expect(new Set(accepted).size).toBe(4);
    // Every refused tick came back with its own event_id and was accepted.
    for (const id of refused) expect(accepted).toContain(id);
    expect(credentialErrors(feeder)).toHaveLength(1);
  });

  it('ticks the api keeps refusing with 401 count as failed after MAX_RETRIES, logged once, not per tick', async () => {
    const { api, feeder } = await feedRefusingApi(-1, { COUNT: '5', MAX_RETRIES: '2' });

    expect(await feeder.exited()).toBe(0);
    expect(progressOf(feeder)).toEqual({ accepted: 0, rejected: 0, failed: 5 });
    expect(api.seen).toHaveLength(15);
    expect(credentialErrors(feeder)).toHaveLength(1);
  });

  it('does not follow a redirect, so the credentials never reach its target: the ticks are retried, then failed', async () => {
    const reached: (string | undefined)[] = [];
    const listen = (server: Server) =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
      );
    const elsewhere = createServer((req, res) => (reached.push(req.headers.authorization), res.writeHead(200).end('{}')));
    const target = await listen(elsewhere);
    let redirected = 0;
    const redirecting = createServer((req, res) => {
      req.resume();
      redirected += 1;
      res.writeHead(307, { location: `${target}/ingest/tick` }).end();
    });
    const url = await listen(redirecting);
    cleanup.push(() => new Promise((r) => elsewhere.close(r)));
    cleanup.push(() => new Promise((r) => redirecting.close(r)));

    const feeder = await startFeeder(url, { COUNT: '2', MAX_RETRIES: '1', TPS: '50', LOG_LEVEL: 'info' });
    expect(await feeder.exited()).toBe(0);
    expect(progressOf(feeder)).toEqual({ accepted: 0, rejected: 0, failed: 2 });
    expect(redirected).toBe(4);
    expect(reached).toEqual([]);
  });

  it.each([
    ['a user name with ":"', { INGEST_USERNAME: 'fee:der' }, 'INGEST_USERNAME: must not contain'],
    ['the password of .env.example', { INGEST_PASSWORD: 'change-me-please' }, 'INGEST_PASSWORD: is a published placeholder value'],
  ])('refuses to start with %s (exit 78 naming the variable)', (_case, env, problem) => {
    const run = spawnSync(process.execPath, [join(__dirname, '../../../../dist/apps/feeder/main.js')], {
      env: { PATH: process.env.PATH, ...AUTH, ...env, COUNT: '1' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain(problem);
  });
});
