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
