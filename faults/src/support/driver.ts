import { randomUUID } from 'node:crypto';
import { backoffMs, sleep } from '@md/common';
import type { TickInput } from '@md/contracts';
import { basicAuth } from '@md/testing';

export interface Attempt {
  /** When the request started and how long it took (ms, wall clock). */
  at: number;
  ms: number;
  /** HTTP status, or 0 for a network error or a timeout. */
  status: number;
}

/**
 * The load of a scenario: ticks at a steady rate over a few symbols, each posted until it is
 * answered 2xx, retried with the same event_id on a network error, 429 or 5xx (what the
 * feeder does). It records A, the event_ids answered 2xx, and every attempt, for the checks.
 */
export class TickDriver {
  readonly accepted = new Set<string>();
  readonly refused = new Map<string, number>();
  readonly attempts: Attempt[] = [];
  sent = 0;
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private readonly prices = new Map<string, number>();

  constructor(
    private url: string,
    private readonly auth: { user: string; password: string },
    readonly symbols: string[],
    private readonly tps: number,
    /** Give up on a tick that has not been answered 2xx after this long (it then counts as never accepted). */
    private readonly giveUpMs = 120_000,
  ) {}

  /** Where ticks go from now on (an api restarted on another port). */
  retarget(url: string): void {
    this.url = url;
  }

  start(): void {
    const began = Date.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - began) / 1000) * this.tps);
      while (this.sent < due && !this.stopping) this.launch(this.nextTick());
    }, 10);
  }

  /** Stops making ticks and waits until every tick made so far is answered or given up. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  /** Attempts that started in [from, to). */
  attemptsBetween(from: number, to: number): Attempt[] {
    return this.attempts.filter((a) => a.at >= from && a.at < to);
  }

  private nextTick(): TickInput {
    const symbol = this.symbols[this.sent % this.symbols.length];
    const last = this.prices.get(symbol) ?? 100 + this.symbols.indexOf(symbol) * 50;
    const price = Math.max(1, Number((last * (1 + (Math.random() - 0.5) * 0.002)).toFixed(4)));
    this.prices.set(symbol, price);
    this.sent += 1;
    return { symbol, price, volume: Number((Math.random() * 3).toFixed(3)), source: 'faults', ts: Date.now(), event_id: randomUUID() };
  }

  private launch(tick: TickInput): void {
    const job = this.deliver(tick).finally(() => this.inFlight.delete(job));
    this.inFlight.add(job);
  }

  private async deliver(tick: TickInput): Promise<void> {
    const deadline = Date.now() + this.giveUpMs;
    const body = JSON.stringify(tick);
    const authorization = basicAuth(this.auth.user, this.auth.password);
    for (let attempt = 0; Date.now() < deadline; attempt += 1) {
      const at = Date.now();
      let status = 0;
      try {
        const response = await fetch(`${this.url}/ingest/tick`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        status = response.status;
        await response.arrayBuffer();
      } catch {
        status = 0;
      }
      this.attempts.push({ at, ms: Date.now() - at, status });
      if (status >= 200 && status < 300) {
        this.accepted.add(tick.event_id);
        return;
      }
      if (status >= 400 && status < 500 && status !== 429) {
        this.refused.set(tick.event_id, status);
        return;
      }
      await sleep(backoffMs(attempt, { baseMs: 50, maxMs: 1_000, jitter: 'half' }));
    }
  }
}
