import { Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { ConsumersEnv } from '@md/config';
import type { AggUpdate, SymbolView } from '@md/contracts';

/** Posts views to the orchestrator-api's /internal/agg-update. */
@Injectable()
export class ViewPoster {
  private readonly url: string;

  constructor(private readonly env: ConsumersEnv) {
    this.url = new URL('/internal/agg-update', env.ORCHESTRATOR_URL).toString();
  }

  /**
   * Resolves when the api has the view (stored, or already had a newer one). Throws a
   * retryable error on network failures, timeouts, 429 and 5xx; an UnrecoverableError on
   * other 4xx (a bad view or a wrong token is not fixed by retrying the same job).
   */
  async post(view: SymbolView, receivedAt?: number): Promise<{ stored: boolean }> {
    const body: AggUpdate = { symbol: view.symbol, view, ts: Date.now(), receivedAt };
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-internal-token': this.env.INTERNAL_TOKEN },
      body: JSON.stringify(body),
      redirect: 'error', // the internal token goes to ORCHESTRATOR_URL only, never where a redirect points
      signal: AbortSignal.timeout(5_000),
    });
    const text = await response.text();
    if (response.ok) return JSON.parse(text) as { stored: boolean };
    const detail = `POST ${this.url} answered ${response.status}: ${text.slice(0, 300)}`;
    if (response.status >= 500 || response.status === 429 || response.status === 408) throw new Error(detail);
    throw new UnrecoverableError(detail);
  }
}
