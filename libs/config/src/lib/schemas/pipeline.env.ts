import { DEFAULT_QUEUE_NAME, DEFAULT_VIEW_QUEUE_NAME } from '@md/contracts';
import { EnvInt, EnvString } from '../decorators';
import { ServiceEnv } from './service.env';

/**
 * What the api and the consumers must agree on, declared once: the two queues, how long an
 * event_id is remembered (the api's dedupe and calc-a's counted marker share the key), and
 * the shared secret of POST /internal/agg-update.
 */
export class PipelineEnv extends ServiceEnv {
  @EnvString({ max: 128 })
  QUEUE_NAME: string = DEFAULT_QUEUE_NAME;

  /** calc-a → calc-b queue: the consumers work it; the api only shows it (GET /pipeline, /admin/queues). */
  @EnvString({ max: 128 })
  VIEW_QUEUE_NAME: string = DEFAULT_VIEW_QUEUE_NAME;

  /** How long an accepted event_id is remembered (api dedupe; calc-a's counted marker). */
  @EnvInt(1, 30 * 86_400)
  DEDUPE_TTL_S: number = 86_400;

  /** Shared secret of POST /internal/agg-update (calc-b sends it in x-internal-token). */
  @EnvString({ min: 16, max: 256 })
  INTERNAL_TOKEN: string;
}
