import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitUntil } from './http';
import { freePort } from './ports';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix and channel of one test run only, so runs never see each other's data. */
export function isolated() {
  const id = `it-${process.pid}-${randomUUID().slice(0, 8)}`;
  return { REDIS_PREFIX: id, PUBSUB_CHANNEL: `${id}:updates` };
}

/** Records every message on a channel. */
export async function listen(redisUrl: string, channel: string) {
  const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const messages: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  subscriber.on('message', (_channel, text: string) => messages.push(JSON.parse(text)));
  await subscriber.subscribe(channel);
  return { messages, close: () => subscriber.quit().then(() => undefined) };
}

/**
 * A prefix's flush buffer as the tests read it, from its entries (not from the counts the
 * pipeline's scripts keep, which the tests check against this): per entry, the event_id of each
 * tick in it. An entry of field `b` holds a JSON array of ticks (one ingest chunk), one of field
 * `t` a single tick (an api before chunked entries). What is not JSON reads as one tick without
 * an event_id ('').
 */
export async function bufferEntries(redis: Redis, prefix: string): Promise<string[][]> {
  const eventId = (tick: unknown) => String((tick as { event_id?: unknown } | null)?.event_id ?? '');
  return (await redis.xrange(`${prefix}:buffer:ticks`, '-', '+')).map(([, [field, value]]) => {
    try {
      const parsed: unknown = JSON.parse(value);
      return field === 'b' && Array.isArray(parsed) ? parsed.map(eventId) : [eventId(parsed)];
    } catch {
      return [''];
    }
  });
}

/** The ticks in a prefix's flush buffer (bufferEntries). */
export async function bufferedTicks(redis: Redis, prefix: string): Promise<number> {
  return (await bufferEntries(redis, prefix)).reduce((sum, entry) => sum + entry.length, 0);
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

/**
 * A redis-server of one test only, on its own port, that the test may kill and restart. With
 * `appendonly`, it keeps its data in an AOF (fsync on every write) in a temporary directory,
 * so a restart keeps everything it acknowledged.
 */
export class ThrowawayRedis {
  private process?: ChildProcess;
  private readonly dir?: string;

  private constructor(
    readonly port: number,
    private readonly options: { appendonly?: boolean },
  ) {
    if (options.appendonly) this.dir = mkdtempSync(join(tmpdir(), 'md-redis-'));
  }

  static async create(options: { appendonly?: boolean } = {}): Promise<ThrowawayRedis> {
    return new ThrowawayRedis(await freePort(), options);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const persistence = this.options.appendonly
      ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir as string]
      : ['--appendonly', 'no'];
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence], {
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

  /** SIGKILL by default (a crash); SIGTERM shuts down cleanly (the AOF is complete). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Stops the server and removes its data directory. */
  async destroy(): Promise<void> {
    await this.kill();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
