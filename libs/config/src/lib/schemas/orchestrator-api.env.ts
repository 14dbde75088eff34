import { IsIn, IsOptional, ValidateBy, type ValidationArguments } from 'class-validator';
import { EnvBool, EnvInt, EnvOptionalString, EnvPort, EnvString, EnvUrl } from '../decorators';
import { BasicAuthUser } from '../secrets-policy';
import { PipelineEnv } from './pipeline.env';
import { WithReadAccessEnv } from './read-access.env';

export class OrchestratorApiEnv extends WithReadAccessEnv(PipelineEnv) {
  override PORT: number = 3000;

  /**
   * Port of the internal listener: /internal/* (calc-b's views) is served there only, never on
   * PORT. Deployments keep it off the public network (compose and Helm do not publish it).
   */
  @ValidateBy({
    name: 'internalPortApart',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => value === 0 || value !== (args?.object as { PORT?: number }).PORT,
      defaultMessage: () => 'must differ from PORT (internal endpoints get a listener of their own)',
    },
  })
  @EnvPort()
  INTERNAL_PORT: number = 3100;

  // Ingest caps (doc/ingest.md#caps-and-limits).
  /** How far ahead of this server's clock a tick's ts may be (400 naming ts beyond it). */
  @EnvInt(0, 60_000)
  MAX_FUTURE_SKEW_MS: number = 5_000;

  /** Distinct symbols the ingest accepts ticks of; a tick of a new symbol past it is answered 422 naming symbol. */
  @EnvInt(1, 100_000)
  MAX_SYMBOLS: number = 1_000;

  /** Ticks the flush buffer may hold (Postgres behind); past it ingest answers 503 + Retry-After. Nothing accepted is trimmed. */
  @EnvInt(1_000, 100_000_000)
  BUFFER_MAX_TICKS: number = 500_000;

  @BasicAuthUser()
  @EnvString({ max: 128 })
  INGEST_USERNAME: string;

  @EnvString({ min: 8, max: 256, secret: true })
  INGEST_PASSWORD: string;

  /**
   * Read API requests per minute per API key (or client address without one); 0: no limit. Per
   * replica. The dashboard server sends one key for all its users, so they share this budget.
   */
  @EnvInt(0, 1_000_000)
  READ_RATE_LIMIT_PER_MIN: number = 6_000;

  /** HTTP Basic user of the queue admin UI at /admin/queues. */
  @BasicAuthUser()
  @EnvString({ max: 128 })
  ADMIN_USERNAME: string = 'admin';

  /** Password of the queue admin UI. Unset: the UI is not mounted at all (/admin/queues is 404). */
  @EnvOptionalString({ min: 12, max: 256, secret: true })
  ADMIN_PASSWORD?: string;

  /** PostgreSQL of the tick history (md_ticks). Ingest never waits for it. */
  @EnvUrl(['postgres', 'postgresql'])
  PG_URL: string = 'postgres://postgres@127.0.0.1:5432/market';

  /** Whether this process flushes the Redis buffer to Postgres (several replicas may). */
  @EnvBool()
  FLUSH_ENABLED: boolean = true;

  /** A flush runs at least this often… */
  @EnvInt(50, 60_000)
  FLUSH_INTERVAL_MS: number = 1_000;

  /** …and as soon as this many ticks wait; also the size of a batch (one transaction, whole buffer entries: see doc/storage-and-db.md). */
  @EnvInt(1, 100_000)
  FLUSH_MAX_BATCH: number = 5_000;

  /** A buffered batch claimed by a flusher that stopped acknowledging for this long is taken over. */
  @EnvInt(1_000, 3_600_000)
  FLUSH_CLAIM_IDLE_MS: number = 30_000;

  // Storage (doc/storage-and-db.md). The flusher has connections of its own; reads have this pool.
  /** Read connections (history, candles), and so concurrent reads: one more is answered 503 + Retry-After. */
  @EnvInt(1, 100)
  PG_READ_POOL_MAX: number = 4;

  /** statement_timeout of a read; past it the read is cancelled and answered 503 + Retry-After. */
  @EnvInt(100, 60_000)
  PG_READ_STATEMENT_TIMEOUT_MS: number = 5_000;

  /** lock_timeout of every api connection: no statement queues behind a lock longer than this. */
  @EnvInt(100, 60_000)
  PG_LOCK_TIMEOUT_MS: number = 5_000;

  /** idle_in_transaction_session_timeout of every api connection: an abandoned transaction frees its locks. */
  @EnvInt(1_000, 3_600_000)
  PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: number = 60_000;

  /**
   * Days of raw ticks kept (whole daily partitions of md_ticks are dropped); 0 keeps them forever.
   * Ingest refuses a ts older than this minus 1 hour (it would never be stored).
   */
  @EnvInt(0, 36_500)
  RETENTION_DAYS: number = 7;

  /** Days of md_ticks_dead_letter rows kept (by failed_at); 0 keeps them forever. */
  @EnvInt(0, 36_500)
  DEAD_LETTER_RETENTION_DAYS: number = 30;

  /** Days of 1-minute candles kept; 0 keeps them forever. Hourly and daily candles are kept forever. */
  @EnvInt(0, 36_500)
  CANDLES_1M_RETENTION_DAYS: number = 90;

  /** Largest span (limit × interval) of a candles request answered from raw ticks (intervals under 1 minute). */
  @EnvInt(60, 86_400)
  CANDLES_MAX_TICK_SPAN_S: number = 1_800;

  /**
   * Fault injection for the durability tests only: the process kills itself right before
   * or right after the COMMIT of its first batch. Never set in a deployment.
   */
  @IsOptional()
  @IsIn(['crash-before-commit', 'crash-after-commit'], { message: 'must be crash-before-commit or crash-after-commit (a test hook)' })
  FLUSH_FAULT?: 'crash-before-commit' | 'crash-after-commit';
}
