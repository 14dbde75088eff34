import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { OrchestratorApiEnv, validateEnv } from '@md/config';
import type { ReceivedTick, SymbolView } from '@md/contracts';
import { referenceView } from '@md/market-calc';
import type { TickChunkJob } from '@md/pipeline';
import { redisOptionsFromUrl } from '@md/redis';
import { basicAuth, dropKeys, isolated, post as postJson, REDIS_URL, ServiceProcess, waitUntil, type Answer } from '@md/testing';
import { createApi } from '../../src/app/create-api';
import { internalUrlOf } from '../../src/app/internal-listener';
import { IngestService } from '../../src/ingest/ingest.service';

export * from '@md/testing';

export const USER = 'feeder';
export const PASSWORD = 'integration-secret';
export const INTERNAL_TOKEN = 'integration-internal-token';

export interface RunningApi {
  app: NestFastifyApplication;
  env: OrchestratorApiEnv;
  url: string;
  /** The internal listener (INTERNAL_PORT): where /internal/* is served. */
  internalUrl: string;
  close(): Promise<void>;
}

/** The real api (Fastify, Redis, BullMQ) in this process, listening on a free port of 127.0.0.1. */
export async function startApi(overrides: Record<string, string> = {}): Promise<RunningApi> {
  const env = validateEnv(OrchestratorApiEnv, {
    NODE_ENV: 'test',
    INGEST_USERNAME: USER,
    INGEST_PASSWORD: PASSWORD,
    INTERNAL_TOKEN,
    REDIS_URL,
    LOG_LEVEL: 'silent',
    // Tests of other parts leave Postgres alone; the flush tests turn it on with their own database.
    FLUSH_ENABLED: 'false',
    // A free port of its own for the internal listener.
    INTERNAL_PORT: '0',
    ...isolated(),
    ...overrides,
  });
  const app = await createApi(env);
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return { app, env, url: url.replace('[::1]', '127.0.0.1'), internalUrl: internalUrlOf(app), close: () => app.close() };
}

/**
 * The api of one describe block (with `overrides`) and a Redis client, started before its tests
 * (`seed` runs then), closed and its keys dropped after them. `closedByTest`: a test of the block
 * closes the api itself, so only the client and the keys are left to clean.
 */
export function apiForBlock(
  overrides: Record<string, string> = {},
  opts: { seed?: (api: RunningApi, redis: Redis) => Promise<unknown>; closedByTest?: boolean } = {},
): { api: RunningApi; redis: Redis } {
  const ctx = {} as { api: RunningApi; redis: Redis };
  beforeAll(async () => {
    ctx.api = await startApi(overrides);
    ctx.redis = new Redis(REDIS_URL);
    await opts.seed?.(ctx.api, ctx.redis);
  });
  afterAll(async () => {
    if (!opts.closedByTest) await ctx.api.close();
    await ctx.redis.quit();
    await dropKeys(REDIS_URL, ctx.api.env.REDIS_PREFIX);
  });
  return ctx;
}

/** The environment of the built api run as a process: keys of its own, no flusher, `overrides` last. */
export function processEnv(overrides: Record<string, string> = {}) {
  return {
    ...isolated(),
    REDIS_URL,
    INGEST_USERNAME: USER,
    INGEST_PASSWORD: PASSWORD,
    INTERNAL_TOKEN: `internal-${randomUUID()}`,
    FLUSH_ENABLED: 'false',
    ...overrides,
  };
}

/** The built api as a process for one describe block (processEnv with `overrides`), its keys gone afterwards. */
export function apiProcess(overrides: Record<string, string> = {}): { readonly url: string } {
  const env = processEnv(overrides);
  let api: ServiceProcess | undefined;
  beforeAll(async () => {
    api = await ServiceProcess.start('orchestrator-api', env);
  });
  afterAll(async () => {
    await api?.kill();
    await dropKeys(REDIS_URL, env.REDIS_PREFIX);
  });
  return {
    get url() {
      if (!api) throw new Error('the api has not started');
      return api.url;
    },
  };
}

export const basic = (user = USER, password = PASSWORD) => basicAuth(user, password);

/** POST with the ingest credentials unless `auth` says otherwise (null: no header). */
export function post(
  url: string,
  body: unknown,
  opts: { auth?: string | null; contentType?: string; raw?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const auth = opts.auth === undefined ? basic() : opts.auth;
  const headers = { ...(auth === null ? {} : { authorization: auth }), ...opts.headers };
  return postJson(url, body, { headers, contentType: opts.contentType, raw: opts.raw });
}

/**
 * The ticks of the jobs waiting in `queue`, in queue order: each job holds up to 100 ticks of
 * one ingest round (TickChunkJob), so tests count and find ticks, not jobs.
 */
export async function waitingTicks(queue: Queue): Promise<ReceivedTick[]> {
  const jobs = (await queue.getWaiting()) as Job<TickChunkJob>[];
  return jobs.reverse().flatMap((job) => job.data.ticks);
}

/** The api's queue, seen from outside through BullMQ (an observer: it leaves the queue's meta, e.g. its events length, as the api set it). */
export function queueOf(api: RunningApi, redisUrl = REDIS_URL): Queue {
  return new Queue(api.env.QUEUE_NAME, {
    connection: redisOptionsFromUrl(redisUrl),
    prefix: `${api.env.REDIS_PREFIX}:bull`,
    skipMetasUpdate: true,
  });
}

/**
 * A worker on `api`'s tick queue that runs nothing (autorun off), named `name`: MIXED_CHUNK_WORKER,
 * as a calc-a that reads jobs of several symbols registers, or '' for one of an older version.
 * The api is asked to look at the queue's workers at once, and again once `close` has
 * disconnected the worker.
 */
export async function idleWorker(api: RunningApi, name: string): Promise<{ mixed: boolean; close(): Promise<void> }> {
  const worker = new Worker(api.env.QUEUE_NAME, null, {
    connection: redisOptionsFromUrl(REDIS_URL),
    prefix: `${api.env.REDIS_PREFIX}:bull`,
    autorun: false,
    ...(name ? { name } : {}),
  });
  await worker.waitUntilReady();
  // The blocking connection names itself once connected: wait until the queue lists it.
  const queue = queueOf(api);
  await waitUntil(async () => (await queue.getWorkers()).length > 0, "the worker in the queue's list", 5_000, 20).finally(() =>
    queue.close(),
  );
  const ingest = api.app.get(IngestService);
  return {
    mixed: await ingest.refreshWorkers(),
    close: async () => {
      await worker.close();
      await ingest.refreshWorkers();
    },
  };
}

export const tick = (overrides: Record<string, unknown> = {}) => ({
  symbol: 'btcusdt',
  price: 64250.5,
  volume: 0.25,
  source: 'binance',
  ts: Date.now() - 1000,
  event_id: randomUUID(),
  ...overrides,
});

/** A valid view of `count` ticks of `symbol` (prices 100, 101, …; one a second from 2026-01-05), as calc-b posts it. */
export function viewOf(symbol: string, count: number): SymbolView {
  const t0 = Date.UTC(2026, 0, 5);
  const ticks = Array.from({ length: count }, (_, i) => ({
    symbol,
    price: 100 + i,
    volume: 1 + i,
    source: 'test',
    ts: t0 + i * 1000,
    event_id: `e${String(i).padStart(4, '0')}`,
  }));
  return referenceView(ticks, Date.now());
}
