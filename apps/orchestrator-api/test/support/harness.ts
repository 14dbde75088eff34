import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { OrchestratorApiEnv, validateEnv } from '@md/config';
import { createApi } from '../../src/app/create-api';

export const USER = 'feeder';
export const PASSWORD = 'integration-secret';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix and channel of this test run only, so runs never see each other's data. */
export function isolated() {
  const id = `it-${process.pid}-${randomUUID().slice(0, 8)}`;
  return { REDIS_PREFIX: id, PUBSUB_CHANNEL: `${id}:updates` };
}

export interface RunningApi {
  app: NestFastifyApplication;
  env: OrchestratorApiEnv;
  url: string;
  close(): Promise<void>;
}

/** The real api (Fastify, Redis, BullMQ), listening on a free port of 127.0.0.1. */
export async function startApi(overrides: Record<string, string> = {}): Promise<RunningApi> {
  const env = validateEnv(OrchestratorApiEnv, {
    INGEST_USERNAME: USER,
    INGEST_PASSWORD: PASSWORD,
    REDIS_URL,
    LOG_LEVEL: 'silent',
    ...isolated(),
    ...overrides,
  });
  const app = await createApi(env);
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return { app, env, url: url.replace('[::1]', '127.0.0.1'), close: () => app.close() };
}

export const basic = (user = USER, password = PASSWORD) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export interface Answer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function post(
  url: string,
  body: unknown,
  opts: { auth?: string | null; contentType?: string; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
  const auth = opts.auth === undefined ? basic() : opts.auth;
  if (auth !== null) headers.authorization = auth;
  return answerOf(await fetch(url, { method: 'POST', headers, body: opts.raw ?? JSON.stringify(body) }));
}

export async function get(url: string): Promise<Answer> {
  return answerOf(await fetch(url));
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

/** Records every message on a channel. */
export async function listen(redisUrl: string, channel: string) {
  const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const messages: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  subscriber.on('message', (_channel, text: string) => messages.push(JSON.parse(text)));
  await subscriber.subscribe(channel);
  return { messages, close: () => subscriber.quit().then(() => undefined) };
}

/** The api's queue, seen from outside through BullMQ. */
export function queueOf(api: RunningApi, redisUrl = REDIS_URL): Queue {
  return new Queue(api.env.QUEUE_NAME, { connection: { ...redisOptionsOf(redisUrl) }, prefix: `${api.env.REDIS_PREFIX}:bull` });
}

/** Deletes every key of a test prefix. */
export async function dropKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** A redis-server of this test only, on its own port, that the test may kill and restart. */
export class ThrowawayRedis {
  private process?: ChildProcess;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await waitUntil(async () => {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    }, 'throw-away redis-server to start');
  }

  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

export async function waitUntil(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
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

/** ioredis connection options of a redis:// URL (BullMQ creates and closes the connection). */
function redisOptionsOf(redisUrl: string) {
  const url = new URL(redisUrl);
  return { host: url.hostname, port: Number(url.port || 6379), db: Number(url.pathname.slice(1) || 0) };
}
