import type {
  Candle,
  CandleInterval,
  DashboardPublicConfig,
  DashboardStatus,
  StreamToken,
  SymbolSummary,
  SymbolView,
  TickRow,
} from '@md/contracts';

/**
 * Every HTTP call of the app. All go to the dashboard's own server: /api/* is the api behind
 * its proxy (which adds the API key), /gw/stream/token the gateway's token endpoint (same),
 * /status and /config.json the server's own. The bundle holds no key and no upstream address.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const answer = await fetch(path, { ...init, headers: { accept: 'application/json', ...init?.headers } });
  if (!answer.ok) {
    const body = (await answer.json().catch(() => undefined)) as { message?: string } | undefined;
    throw new HttpError(answer.status, body?.message ?? `${path} answered ${answer.status}`);
  }
  return (await answer.json()) as T;
}

const symbolPath = (symbol: string) => `/api/symbols/${encodeURIComponent(symbol)}`;

export const api = {
  config: (signal?: AbortSignal) => json<DashboardPublicConfig>('/config.json', { signal }),
  status: (signal?: AbortSignal) => json<DashboardStatus>('/status', { signal }),
  symbols: (signal?: AbortSignal) => json<SymbolSummary[]>('/api/symbols', { signal }),
  view: (symbol: string, signal?: AbortSignal) => json<SymbolView>(symbolPath(symbol), { signal }),
  candles: (symbol: string, interval: CandleInterval, limit: number, signal?: AbortSignal) =>
    json<Candle[]>(`${symbolPath(symbol)}/candles?interval=${interval}&limit=${limit}`, { signal }),
  history: (symbol: string, limit: number, signal?: AbortSignal) =>
    json<TickRow[]>(`${symbolPath(symbol)}/history?limit=${limit}`, { signal }),
  streamToken: () => json<StreamToken>('/gw/stream/token', { method: 'POST' }),
};
