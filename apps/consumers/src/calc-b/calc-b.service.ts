import { Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { Coalescer, JsonPoster } from '@md/platform';
import { ConsumersEnv } from '@md/config';
import type { AggUpdate, AggUpdateResult, SymbolView } from '@md/contracts';

/** Views per POST at most (the api takes up to AGG_UPDATES_MAX). */
const POST_MAX_VIEWS = 100;

/** A post's whole time, connection to the answer's last byte. */
const POST_TIMEOUT_MS = 5_000;

/**
 * Posts views to the orchestrator-api's /internal/agg-update. The views of the jobs running at
 * the same time (CALC_B_CONCURRENCY) go in one request, as an array: the api stores and
 * publishes each on its own terms (only if newer than the stored one), on kept-alive
 * connections (JsonPoster).
 */
@Injectable()
export class ViewPoster {
  private readonly poster: JsonPoster;
  /** Each view's own outcome: a view refused alone fails its job only. */
  private readonly rounds = new Coalescer<AggUpdate, PromiseSettledResult<{ stored: boolean }>>(
    (updates) => this.postRound(updates),
    POST_MAX_VIEWS,
  );

  constructor(env: ConsumersEnv) {
    // JsonPoster's defaults: answers up to 1 MiB (one short result per view: the api's are far
    // below), connections closed after 4 s unused (the internal listener keeps them 5 s). Never
    // closed at shutdown: the workers close after their running jobs, whose posts may be on its sockets.
    this.poster = new JsonPoster(new URL('/internal/agg-update', env.ORCHESTRATOR_URL), {
      timeoutMs: POST_TIMEOUT_MS,
      headers: { 'x-internal-token': env.INTERNAL_TOKEN },
    });
  }

  /**
   * Resolves when the api has the view (stored, or already had a newer one). Throws a
   * retryable error on network failures, timeouts, 429 and 5xx; an UnrecoverableError on
   * other 4xx (a bad view or a wrong token is not fixed by retrying the same job).
   */
  async post(view: SymbolView, receivedAt?: number): Promise<{ stored: boolean }> {
    const [result] = await this.rounds.submit([{ symbol: view.symbol, view, ts: Date.now(), receivedAt }]);
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  }

  /**
   * One request for a round's views. A view superseded within the round (the same symbol, a
   * higher tickCount) is not sent: it is answered `stored: false`, as the api would. A 4xx for
   * several views is retried view by view, so one bad view fails its own job only.
   */
  private async postRound(updates: AggUpdate[]): Promise<PromiseSettledResult<{ stored: boolean }>[]> {
    const newest = new Map<string, AggUpdate>();
    for (const update of updates) {
      const held = newest.get(update.symbol);
      if (!held || update.view.tickCount > held.view.tickCount) newest.set(update.symbol, update);
    }
    const sent = [...newest.values()];
    let answers: AggUpdateResult[];
    try {
      answers = await this.send(sent);
    } catch (error) {
      if (!(error instanceof UnrecoverableError) || sent.length === 1) throw error;
      return Promise.allSettled(
        updates.map(async (update) => (newest.get(update.symbol) === update ? this.sendOne(update) : { stored: false })),
      );
    }
    return updates.map((update) => ({
      status: 'fulfilled',
      value: { stored: newest.get(update.symbol) === update && answers[sent.indexOf(update)].stored },
    }));
  }

  private async sendOne(update: AggUpdate): Promise<{ stored: boolean }> {
    const [answer] = await this.send([update]);
    return { stored: answer.stored };
  }

  private async send(updates: AggUpdate[]): Promise<AggUpdateResult[]> {
    const { status, text } = await this.poster.post(JSON.stringify(updates));
    if (status >= 200 && status < 300) {
      const answers = JSON.parse(text) as AggUpdateResult[];
      if (Array.isArray(answers) && answers.length === updates.length) return answers;
      throw new Error(`POST ${this.poster.url} answered ${text.slice(0, 300)}`);
    }
    const detail = `POST ${this.poster.url} answered ${status}: ${text.slice(0, 300)}`;
    // A redirect is never followed: the internal token goes to ORCHESTRATOR_URL only.
    if (status >= 300 && status < 400) throw new Error(`${detail} (a redirect, not followed: check ORCHESTRATOR_URL)`);
    if (status >= 500 || status === 429 || status === 408) throw new Error(detail);
    throw new UnrecoverableError(detail);
  }
}
