import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { backoffMs, sleep } from '@md/common';
import { OrchestratorApiEnv } from '@md/config';
import { CreateMdTicks1795400000000 } from './migrations/1795400000000-create-md-ticks';
import { PartitionMdTicks1795500000000 } from './migrations/1795500000000-partition-md-ticks';
import { maintainStorage } from './storage-maintenance';

export const MIGRATIONS = [CreateMdTicks1795400000000, PartitionMdTicks1795500000000];
/** Serialises migrations across replicas starting together (pg_advisory_lock key). */
const MIGRATION_LOCK = 7_302_114_001;

/**
 * The two pools of the api, so that reads can never take the connections the flusher needs:
 *  - `writer`: migrations, the flusher's transactions, storage maintenance. Two connections:
 *    one flush at a time per process, plus maintenance beside it. Statements may take 30 s.
 *  - `reader`: history and candles, PG_READ_POOL_MAX connections (HistoryService refuses a read
 *    beyond that with 503 rather than queueing it), each statement cut at PG_READ_STATEMENT_TIMEOUT_MS.
 * Both: lock_timeout (no statement waits behind a lock, e.g. DDL, for long) and
 * idle_in_transaction_session_timeout (a transaction left open frees its locks).
 */
export function createDataSource(env: OrchestratorApiEnv, role: 'writer' | 'reader' = 'writer'): DataSource {
  const reader = role === 'reader';
  return new DataSource({
    type: 'postgres',
    url: env.PG_URL,
    migrations: MIGRATIONS,
    migrationsTableName: 'md_migrations',
    synchronize: false,
    logging: false,
    extra: {
      max: reader ? env.PG_READ_POOL_MAX : 2,
      connectionTimeoutMillis: 3_000,
      statement_timeout: reader ? env.PG_READ_STATEMENT_TIMEOUT_MS : 30_000,
      lock_timeout: env.PG_LOCK_TIMEOUT_MS,
      idle_in_transaction_session_timeout: env.PG_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      application_name: `orchestrator-api ${role}`,
    },
  });
}

/**
 * For `npm run migrate`: creates the database PG_URL names when it does not exist yet (through
 * the server's `postgres` database), applies the due migrations, then creates today's and the
 * coming days' partitions (so that rows can be written, or COPYed, before an api has run).
 */
export async function migrateCreatingDatabase(env: OrchestratorApiEnv): Promise<string[]> {
  const url = new URL(env.PG_URL);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new DataSource({ type: 'postgres', url: url.toString() });
  await admin.initialize();
  try {
    const found = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])) as unknown[];
    if (found.length === 0) await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await admin.destroy();
  }
  const dataSource = createDataSource(env);
  await dataSource.initialize();
  try {
    const ran = await migrate(dataSource);
    await maintainStorage(dataSource, env, true);
    return ran;
  } finally {
    await dataSource.destroy();
  }
}

/** Runs the migrations that are due, one replica at a time. */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const ran = await dataSource.runMigrations({ transaction: 'each' });
    return ran.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

/**
 * The api's Postgres: the writer pool (migrations, flusher, maintenance) and the reader pool
 * (history, candles). The writer connects, and migrates, in the background with backoff: the
 * ingest path never waits for Postgres, so the api starts and serves while the database is
 * away, and the flusher catches up when it comes. The reader pool opens on the first read.
 */
@Injectable()
export class DatabaseService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('database');
  /** The writer pool. */
  readonly dataSource: DataSource;
  readonly reader: DataSource;
  private ready?: Promise<void>;
  private readerReady?: Promise<void>;
  private stopped = false;
  /** True once connected AND migrated: before that, md_ticks may not exist yet. */
  private migrated = false;
  lastError?: string;

  constructor(private readonly env: OrchestratorApiEnv) {
    this.dataSource = createDataSource(env, 'writer');
    this.reader = createDataSource(env, 'reader');
  }

  /** A flushing api connects at once; one that only reads connects on its first read. */
  onModuleInit(): void {
    if (this.env.FLUSH_ENABLED) void this.connected().catch(() => undefined);
  }

  /** Resolves once connected and migrated; retries forever (until shutdown) with backoff. */
  connected(): Promise<void> {
    this.ready ??= (async () => {
      for (let attempt = 0; !this.stopped; attempt++) {
        try {
          if (!this.dataSource.isInitialized) await this.dataSource.initialize();
          const ran = await migrate(this.dataSource);
          if (ran.length) this.logger.log(`migrations applied: ${ran.join(', ')}`);
          this.lastError = undefined;
          this.migrated = true;
          return;
        } catch (error) {
          this.lastError = (error as Error).message;
          if (attempt % 10 === 0) this.logger.warn({ err: this.lastError }, 'Postgres not reachable yet; retrying');
          await sleep(backoffMs(attempt, { baseMs: 250, maxMs: 5_000 }));
        }
      }
      throw new Error('shut down before Postgres was reachable');
    })();
    return this.ready;
  }

  get isConnected(): boolean {
    return this.migrated && this.dataSource.isInitialized && this.lastError === undefined;
  }

  /** For a request: the reader pool once the schema is there, or an error after `ms` (the caller answers 503). */
  async connectedWithin(ms: number): Promise<DataSource> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Postgres unavailable: ${this.lastError ?? 'connecting'}`)), ms);
    });
    try {
      await Promise.race([this.connected(), timeout]);
      this.readerReady ??= this.reader.initialize().then(
        () => undefined,
        (error: Error) => {
          this.readerReady = undefined;
          throw error;
        },
      );
      await Promise.race([this.readerReady, timeout]);
      return this.reader;
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.readerReady?.catch(() => undefined);
    if (this.reader.isInitialized) await this.reader.destroy();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
