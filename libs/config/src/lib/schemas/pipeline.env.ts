import { DEFAULT_QUEUE_NAME, DEFAULT_VIEW_QUEUE_NAME, MIN_DEDUPE_TTL_S } from '@md/contracts';
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

  /**
   * How long an accepted event_id is remembered (api dedupe; calc-a's counted marker, renewed
   * each time calc-a sees the tick). The queue keeps finished jobs, and so their replay, for
   * this minus REPLAY_MARGIN_S only (tickJobOptions), so a replayed job always finds its
   * marker. At least 600 s: more than the 1-minute window plus the largest future skew plus
   * that margin, so a resend is never counted while its first copy can still be in the window.
   */
  @EnvInt(MIN_DEDUPE_TTL_S, 30 * 86_400)
  DEDUPE_TTL_S: number = 86_400;

  /** Shared secret of POST /internal/agg-update (calc-b sends it in x-internal-token). */
  @EnvString({ min: 16, max: 256, secret: true })
  INTERNAL_TOKEN: string;
}
