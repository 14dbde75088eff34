import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from '@md/redis';
import { dropKeys, isolated, REDIS_URL, ServiceProcess } from '@md/testing';

/**
 * The feeder as deployed (a built process) against a real orchestrator-api process and the
 * real Redis: it must deliver exactly the ticks it meant to, once each, also when the api
 * answers 503 to its first requests (some of them after storing the tick).
 */
const AUTH = { INGEST_USERNAME: 'feeder', INGEST_PASSWORD: 'integration-secret' };

async function startApi(env: Record<string, string>) {
  return ServiceProcess.start('orchestrator-api', { ...env, REDIS_URL, INTERNAL_TOKEN: 'integration-internal-token', FLUSH_ENABLED: 'false', ...AUTH });
}

/** Waiting jobs, all distinct ids: no consumer runs in these tests, so jobs stay in the queue. */
async function queued(prefix: string): Promise<string[]> {
  const queue = new Queue('ticks.received', { connection: redisOptionsFromUrl(REDIS_URL), prefix: `${prefix}:bull` });
  const jobs = await queue.getWaiting(0, -1);
  await queue.close();
  return jobs.map((job) => job.data.event_id as string);
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

  it('COUNT=500 at TPS=100 ends with 500 accepted ticks in the queue and exits 0', async () => {
    const env = isolated();
    const api = await startApi(env);
    cleanup.push(() => api.kill(), () => dropKeys(REDIS_URL, env.REDIS_PREFIX));

    const feeder = await ServiceProcess.start('feeder', {
      ...AUTH,
      TARGET_URL: `${api.url}/ingest/tick`,
      COUNT: '500',
      TPS: '100',
      SEED: 'integration',
      LOG_LEVEL: 'info',
    });

    expect(await feeder.exited()).toBe(0);
    const ids = await queued(env.REDIS_PREFIX);
    expect(ids).toHaveLength(500);
    expect(new Set(ids).size).toBe(500);
    // The last progress line covers the end of the run; together the lines add up to the run.
    const lines = feeder.output.join('').split('\n').filter((l) => l.includes('"progress"')).map((l) => JSON.parse(l).progress);
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
    cleanup.push(() => api.kill(), () => new Promise((r) => proxy.server.close(r)), () => dropKeys(REDIS_URL, env.REDIS_PREFIX));

    const feeder = await ServiceProcess.start('feeder', {
      ...AUTH,
      TARGET_URL: `${proxy.url}/ingest/tick`,
      COUNT: '200',
      TPS: '200',
      BATCH_SIZE: batchSize,
      SEED: 'flaky',
    });

    expect(await feeder.exited()).toBe(0);
    expect(proxy.failed()).toBe(12);
    const ids = await queued(env.REDIS_PREFIX);
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
    const redis = new Redis(REDIS_URL);
    expect(await redis.keys(`${env.REDIS_PREFIX}:dedupe:*`)).toHaveLength(200);
    await redis.quit();
  });
});
