import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { Coalescer } from '@md/platform';
import { ConsumersEnv } from '@md/config';
import type { AggUpdate, AggUpdateResult, SymbolView } from '@md/contracts';

/** Views per POST at most (the api takes up to AGG_UPDATES_MAX). */
const POST_MAX_VIEWS = 100;

/** A post's whole time, connection to the answer's last byte. */
const POST_TIMEOUT_MS = 5_000;

/** The answer's size at most: one short result per view (the api's answers are far below). */
const ANSWER_MAX_BYTES = 1 << 20;

/**
 * How long a connection stays open unused: below the keep-alive of the api's internal listener
 * (Node's default, 5 s), so the api never closes one just as a post starts on it.
 */
const IDLE_SOCKET_MS = 4_000;

/**
 * Posts views to the orchestrator-api's /internal/agg-update. The views of the jobs running at
 * the same time (CALC_B_CONCURRENCY) go in one request, as an array: the api stores and
 * publishes each on its own terms (only if newer than the stored one). Through node:http on
 * kept-alive connections: fetch's per-request machinery (its Request, abort signal and streams)
 * cost the consumers a fifth to two-fifths of their CPU (doc/performance.md, session 11).
 */
@Injectable()
export class ViewPoster {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  /** node:http's or node:https's request, by the URL's protocol (as the agent is). */
  private readonly request: typeof httpRequest;
  /** Each view's own outcome: a view refused alone fails its job only. */
  private readonly rounds = new Coalescer<AggUpdate, PromiseSettledResult<{ stored: boolean }>>(
    (updates) => this.postRound(updates),
    POST_MAX_VIEWS,
  );

  constructor(private readonly env: ConsumersEnv) {
    this.url = new URL('/internal/agg-update', env.ORCHESTRATOR_URL);
    const https = this.url.protocol === 'https:';
    const Agent = https ? HttpsAgent : HttpAgent;
    this.request = https ? httpsRequest : httpRequest;
    // Not destroyed at shutdown: the workers close after their running jobs, whose posts may be
    // on these sockets; an unused one is unref'd (it never holds the process) and closes after IDLE_SOCKET_MS.
    this.agent = new Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS });
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
    const { status, text } = await this.postJson(JSON.stringify(updates));
    if (status >= 200 && status < 300) {
      const answers = JSON.parse(text) as AggUpdateResult[];
      if (!Array.isArray(answers) || answers.length !== updates.length) throw new Error(`POST ${this.url} answered ${text.slice(0, 300)}`);
      return answers;
    }
    const detail = `POST ${this.url} answered ${status}: ${text.slice(0, 300)}`;
    // A redirect is never followed: the internal token goes to ORCHESTRATOR_URL only.
    if (status >= 300 && status < 400) throw new Error(`${detail} (a redirect, not followed: check ORCHESTRATOR_URL)`);
    if (status >= 500 || status === 429 || status === 408) throw new Error(detail);
    throw new UnrecoverableError(detail);
  }

  /** One POST of `body`; resolves to the status and the answer's text (network errors, a timeout or an oversized answer reject). */
  private postJson(body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const request = this.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-internal-token': this.env.INTERNAL_TOKEN,
          },
        },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > ANSWER_MAX_BYTES) request.destroy(new Error(`POST ${this.url}: answer over ${ANSWER_MAX_BYTES} bytes`));
            else chunks.push(chunk);
          });
          response.on('end', () => {
            clearTimeout(timer);
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          response.on('error', fail);
        },
      );
      const timer = setTimeout(
        () => request.destroy(new Error(`POST ${this.url}: no answer within ${POST_TIMEOUT_MS} ms`)),
        POST_TIMEOUT_MS,
      );
      function fail(error: Error): void {
        clearTimeout(timer);
        reject(error);
      }
      request.on('error', fail);
      request.end(body);
    });
  }
}
