import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import type { SymbolView } from '@md/contracts';
import { redisOptionsFromUrl } from '@md/redis';
import { createDatabase, isolated, ServiceProcess, ThrowawayRedis, waitUntil } from '@md/testing';
import { PgCluster } from './pg-cluster';

export const AUTH = { user: 'faults', password: 'faults-password' };
export const API_KEY = 'faults-api-key-0123456789';

export interface StackOptions {
  /** Redis with an AOF, fsync always (for a restart that must keep what it acknowledged). */
  appendonly?: boolean;
  /** A PostgreSQL cluster of this scenario only, which it may stop. */
  ownPostgres?: boolean;
  /** Where the consumers post views (a proxy in front of the api), given the api's URL. */
  orchestratorUrl?: (apiUrl: string) => Promise<string>;
  apiEnv?: Record<string, string>;
  gateway?: boolean;
}

/**
 * The system of one scenario: its own redis-server (killable, restartable), its own database
 * (or PostgreSQL cluster), and orchestrator-api, consumers and realtime-gateway as built
 * processes, as in production. Every service keeps its port across restarts.
 */
export class Stack {
  api!: ServiceProcess;
  consumers!: ServiceProcess;
  gateway?: ServiceProcess;
  pgUrl!: string;
  readonly names = isolated();
  readonly internalToken = `internal-${randomUUID()}`;
  private dropDatabase?: () => Promise<void>;
  private cluster?: PgCluster;

  private constructor(readonly redis: ThrowawayRedis) {}

  static async start(options: StackOptions = {}): Promise<Stack> {
    const redis = await ThrowawayRedis.create({ appendonly: options.appendonly });
    await redis.start();
    const stack = new Stack(redis);
    if (options.ownPostgres) {
      stack.cluster = await PgCluster.create();
      stack.cluster.start();
      const admin = new Client({ connectionString: stack.cluster.url.replace(/\/market$/, '/postgres') });
      await admin.connect();
      await admin.query('CREATE DATABASE market');
      await admin.end();
      stack.pgUrl = stack.cluster.url;
    } else {
      const db = await createDatabase();
      stack.pgUrl = db.url;
      stack.dropDatabase = db.drop;
    }
    const common = {
      REDIS_URL: redis.url,
      ...stack.names,
      // Nothing leaves history during a scenario: every published message can be checked.
      STREAM_HISTORY: '1000000',
      LOG_LEVEL: 'warn',
    };
    stack.api = await ServiceProcess.start('orchestrator-api', {
      ...common,
      INGEST_USERNAME: AUTH.user,
      INGEST_PASSWORD: AUTH.password,
      INTERNAL_TOKEN: stack.internalToken,
      API_KEY,
      PG_URL: stack.pgUrl,
      FLUSH_INTERVAL_MS: '200',
      FLUSH_CLAIM_IDLE_MS: '3000',
      ...options.apiEnv,
    });
    // The consumers post views to the api's internal listener (INTERNAL_PORT), never its public port.
    const orchestrator = options.orchestratorUrl ? await options.orchestratorUrl(stack.api.internalUrl) : stack.api.internalUrl;
    stack.consumers = await ServiceProcess.start('consumers', {
      ...common,
      INTERNAL_TOKEN: stack.internalToken,
      ORCHESTRATOR_URL: orchestrator,
      WORKER_LOCK_MS: '3000',
    });
    if (options.gateway !== false)
      stack.gateway = await ServiceProcess.start('realtime-gateway', { ...common, API_KEY, HEARTBEAT_MS: '2000' });
    return stack;
  }

  get cluster$(): PgCluster {
    if (!this.cluster) throw new Error('this stack has no PostgreSQL cluster of its own');
    return this.cluster;
  }

  /** Waits until the system is idle: queues empty, the buffer flushed and acknowledged. */
  async quiesce(timeoutMs = 120_000): Promise<void> {
    const redis = new Redis(this.redis.url);
    const queues = ['ticks.received', 'views.compute'].map(
      (name) => new Queue(name, { connection: redisOptionsFromUrl(this.redis.url), prefix: `${this.names.REDIS_PREFIX}:bull` }),
    );
    try {
      await waitUntil(
        async () => {
          for (const queue of queues) {
            const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
            if (Object.values(counts).some((n) => n > 0)) return false;
          }
          return (await redis.xlen(`${this.names.REDIS_PREFIX}:buffer:ticks`)) === 0;
        },
        'the system to quiesce (queues empty, buffer flushed)',
        timeoutMs,
      );
    } finally {
      await Promise.all(queues.map((q) => q.close()));
      redis.disconnect();
    }
  }

  /** D: every row of md_ticks. */
  async rows(): Promise<{ event_id: string; symbol: string; price: number; volume: number; source: string; ts: number }[]> {
    return this.query(`SELECT event_id, symbol, price, volume, source, (extract(epoch from ts) * 1000)::bigint AS ts FROM md_ticks`).then(
      (rows) => rows.map((r) => ({ ...r, ts: Number(r.ts) })),
    );
  }

  async query(sql: string): Promise<any[]> {
    // eslint-disable-line @typescript-eslint/no-explicit-any
    const client = new Client({ connectionString: this.pgUrl });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  }

  /** The stored view of every symbol (what GET /symbols/:id serves). */
  async views(): Promise<Map<string, SymbolView>> {
    const redis = new Redis(this.redis.url);
    try {
      const hash = await redis.hgetall(`${this.names.REDIS_PREFIX}:views`);
      return new Map(Object.entries(hash).map(([symbol, json]) => [symbol, JSON.parse(json) as SymbolView]));
    } finally {
      redis.disconnect();
    }
  }

  /** Every message ever published on the channel, from the history stream: seq, type, symbol. */
  async published(): Promise<{ seq: string; type: string; symbol: string }[]> {
    const redis = new Redis(this.redis.url);
    try {
      const entries = (await redis.xrange(`${this.names.REDIS_PREFIX}:history:${this.names.PUBSUB_CHANNEL}`, '-', '+')) as [
        string,
        string[],
      ][];
      return entries.map(([seq, fields]) => {
        const message = JSON.parse(fields[1]) as { type: string; symbol: string };
        return { seq, type: message.type, symbol: message.symbol };
      });
    } finally {
      redis.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.api, this.consumers, this.gateway].map((s) => s?.kill('SIGKILL')));
    await this.redis.destroy();
    await this.dropDatabase?.().catch(() => undefined);
    this.cluster?.destroy();
  }
}
