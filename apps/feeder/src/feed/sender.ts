import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';
import { backoffMs, sleep } from '@md/common';
import { FeederEnv } from '@md/config';
import { type JsonAnswer, JsonPoster } from '@md/platform';
import type { BatchAck, Tick } from '@md/contracts';
import { FEED_ACK, FEED_RETRIES, FEED_TICKS } from './feed.metrics';
import { Progress } from './progress';

export type Delivery = 'accepted' | 'duplicate' | 'rejected' | 'failed';

const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Delivers ticks to the api. Network errors, timeouts, 401, 429 and 5xx are retried with
 * exponential backoff and full jitter (at least Retry-After when the api sends one), always
 * with the same event_id, so a retry of a tick the api did store is answered `duplicate`.
 * A 401 is not the tick's fault: credentials rotated on one side, or a proxy in between, must
 * not turn good ticks into rejections; it is logged at error level once per burst. Other 4xx
 * are logged and counted as rejected, never retried. A tick is given up (failed) only after
 * MAX_RETRIES retries. Posts go over kept-alive connections (JsonPoster), and a redirect is
 * never followed: the credentials go to TARGET_URL only.
 */
@Injectable()
export class TickSender {
  private readonly logger = new Logger('feeder');
  private readonly poster: JsonPoster;
  /** Consecutive requests that got no answer or a 5xx: readiness turns down past a few. */
  consecutiveFailures = 0;
  /** Whether the api is refusing our credentials right now (a burst of 401s is logged once). */
  private unauthorized = false;
  progress = new Progress(Date.now());

  constructor(
    private readonly env: FeederEnv,
    @InjectMetric(FEED_TICKS) private readonly ticks: Counter<string>,
    @InjectMetric(FEED_RETRIES) private readonly retries: Counter<string>,
    @InjectMetric(FEED_ACK) private readonly ack: Histogram<string>,
  ) {
    const url = new URL(env.TARGET_URL);
    if (env.BATCH_SIZE > 1 && url.pathname.endsWith('/ingest/tick')) url.pathname += 's';
    // JsonPoster's defaults: answers up to 1 MiB (a 1,000-item batch's is about 60 KB),
    // connections closed after 4 s unused.
    this.poster = new JsonPoster(url, {
      timeoutMs: REQUEST_TIMEOUT_MS,
      headers: { authorization: `Basic ${Buffer.from(`${env.INGEST_USERNAME}:${env.INGEST_PASSWORD}`).toString('base64')}` },
    });
  }

  get target(): string {
    return this.poster.url.toString();
  }

  /** Delivers the ticks (one request, or one batch request), retrying as needed. */
  async deliver(batch: Tick[]): Promise<Delivery[]> {
    const result = new Array<Delivery>(batch.length);
    let pending = batch.map((_, i) => i);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > this.env.MAX_RETRIES) {
        pending.forEach((i) => (result[i] = 'failed'));
        this.logger.warn({ event_ids: pending.map((i) => batch[i].event_id) }, `gave up after ${this.env.MAX_RETRIES} retries`);
        break;
      }
      const { retry, retryAfterS } = await this.attempt(
        pending.map((i) => batch[i]),
        (k, outcome) => (result[pending[k]] = outcome),
      );
      pending = retry.map((k) => pending[k]);
      if (pending.length > 0 && attempt < this.env.MAX_RETRIES) {
        this.retries.inc();
        this.progress.count('retries');
        const delay = backoffMs(attempt, { baseMs: BACKOFF_BASE_MS, maxMs: BACKOFF_CAP_MS, jitter: 'full' });
        await sleep(Math.max(delay, (retryAfterS ?? 0) * 1000));
      }
    }
    for (const outcome of result) {
      this.ticks.inc({ outcome });
      this.progress.count(outcome);
    }
    return result;
  }

  /** One request; `settle(k, outcome)` for every tick it settled; returns the indexes to retry. */
  private async attempt(ticks: Tick[], settle: (k: number, outcome: Delivery) => void): Promise<{ retry: number[]; retryAfterS?: number }> {
    const all = ticks.map((_, k) => k);
    const started = performance.now();
    let response: JsonAnswer;
    try {
      response = await this.poster.post(JSON.stringify(this.env.BATCH_SIZE > 1 ? ticks : ticks[0]));
    } catch (error) {
      this.consecutiveFailures += 1;
      this.logger.debug({ err: (error as Error).message }, 'request failed; will retry');
      return { retry: all };
    }
    const { status, text } = response;
    if (status >= 300 && status < 400) {
      // Not followed (the credentials go to TARGET_URL only): a failed request, as a network error is.
      this.consecutiveFailures += 1;
      this.logger.debug({ status, location: response.headers.location }, 'redirect not followed (check TARGET_URL); will retry');
      return { retry: all };
    }
    const elapsed = performance.now() - started;
    const retryAfterS = Number(response.headers['retry-after']) || undefined;
    if ((status >= 500 && status !== 503) || status === 401) this.consecutiveFailures += 1;
    else this.consecutiveFailures = 0;
    if (status === 401) {
      if (!this.unauthorized) {
        this.logger.error(
          { status: 401, target: this.target, user: this.env.INGEST_USERNAME },
          'the api refuses the ingest credentials (INGEST_USERNAME / INGEST_PASSWORD): retrying with backoff; ticks fail after MAX_RETRIES',
        );
      }
      this.unauthorized = true;
      return { retry: all, retryAfterS };
    }
    if (this.unauthorized) {
      this.unauthorized = false;
      this.logger.log({ status }, 'the api accepts the ingest credentials again');
    }

    if (this.env.BATCH_SIZE > 1 && (status === 200 || status === 503) && text.startsWith('{"errors"')) {
      this.observe(elapsed);
      const ack = JSON.parse(text) as BatchAck;
      const retry: number[] = [];
      for (const item of ack.items) {
        if (item.status === 'accepted' || item.status === 'duplicate') settle(item.index, item.status);
        else if (item.status === 'unavailable') retry.push(item.index);
        else if (item.status === 'invalid') {
          settle(item.index, 'rejected');
          this.logger.warn({ event_id: ticks[item.index].event_id, errors: item.errors }, 'tick rejected');
        }
      }
      return { retry, retryAfterS };
    }
    if (status === 200) {
      this.observe(elapsed);
      const outcome = (JSON.parse(text) as { status: 'accepted' | 'duplicate' }).status;
      all.forEach((k) => settle(k, outcome));
      return { retry: [] };
    }
    if (status === 429 || status >= 500) return { retry: all, retryAfterS };
    this.observe(elapsed);
    all.forEach((k) => settle(k, 'rejected'));
    this.logger.warn({ status, body: text.slice(0, 500), event_ids: ticks.map((t) => t.event_id) }, 'ticks rejected');
    return { retry: [] };
  }

  private observe(ms: number): void {
    this.ack.observe(ms / 1000);
    this.progress.ack(ms);
  }
}
