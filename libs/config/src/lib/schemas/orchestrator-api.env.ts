import { IsIn, IsOptional } from 'class-validator';
import { EnvBool, EnvInt, EnvOptionalString, EnvString, EnvUrl } from '../decorators';
import { PipelineEnv } from './pipeline.env';

export class OrchestratorApiEnv extends PipelineEnv {
  override PORT: number = 3000;

  @EnvString({ max: 128 })
  INGEST_USERNAME: string;

  @EnvString({ min: 8, max: 256 })
  INGEST_PASSWORD: string;

  /** When set, the read API requires it in `x-api-key`. */
  @EnvOptionalString({ min: 16, max: 256 })
  API_KEY?: string;

  /**
   * Read API requests per minute per API key (or client address without one); 0: no limit. Per
   * replica. The dashboard server sends one key for all its users, so they share this budget.
   */
  @EnvInt(0, 1_000_000)
  READ_RATE_LIMIT_PER_MIN: number = 6_000;

  /** HTTP Basic user of the queue admin UI at /admin/queues. */
  @EnvString({ max: 128 })
  ADMIN_USERNAME: string = 'admin';

  /** Password of the queue admin UI. Unset: the UI is not mounted at all (/admin/queues is 404). */
  @EnvOptionalString({ min: 12, max: 256 })
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

  /** …and as soon as this many ticks wait; also the largest batch (one transaction). */
  @EnvInt(1, 100_000)
  FLUSH_MAX_BATCH: number = 5_000;

  /** A buffered batch claimed by a flusher that stopped acknowledging for this long is taken over. */
  @EnvInt(1_000, 3_600_000)
  FLUSH_CLAIM_IDLE_MS: number = 30_000;

  /**
   * Fault injection for the durability tests only: the process kills itself right before
   * or right after the COMMIT of its first batch. Never set in a deployment.
   */
  @IsOptional()
  @IsIn(['crash-before-commit', 'crash-after-commit'], { message: 'must be crash-before-commit or crash-after-commit (a test hook)' })
  FLUSH_FAULT?: 'crash-before-commit' | 'crash-after-commit';
}
