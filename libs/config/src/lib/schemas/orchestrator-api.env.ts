import { DEFAULT_QUEUE_NAME } from '@md/contracts';
import { EnvInt, EnvOptionalString, EnvString } from '../decorators';
import { ServiceEnv } from './service.env';

export class OrchestratorApiEnv extends ServiceEnv {
  override PORT: number = 3000;

  @EnvString({ max: 128 })
  INGEST_USERNAME: string;

  @EnvString({ min: 8, max: 256 })
  INGEST_PASSWORD: string;

  /** When set, the read API requires it in `x-api-key`. */
  @EnvOptionalString({ min: 16, max: 256 })
  API_KEY?: string;

  @EnvString({ max: 128 })
  QUEUE_NAME: string = DEFAULT_QUEUE_NAME;

  /** Shared secret of POST /internal/agg-update (calc-b sends it in x-internal-token). */
  @EnvString({ min: 16, max: 256 })
  INTERNAL_TOKEN: string;

  /** How long an accepted event_id is remembered for dedupe. */
  @EnvInt(1, 30 * 86_400)
  DEDUPE_TTL_S: number = 86_400;
}
