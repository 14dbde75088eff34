import type { PipelineStats } from '@md/contracts';

/** One OHLCV bar of GET /symbols/:id/candles (the api's CandleDto). */
export interface Candle {
  t: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
  final: boolean;
}

/** One tick of GET /symbols/:id/history (the api's TickRowDto). */
export interface TickRow {
  event_id: string;
  symbol: string;
  price: number;
  volume: number;
  source: string;
  ts: number;
  received_at: number;
}

/** GET /config.json of the dashboard server. */
export interface PublicConfig {
  gatewayUrl: string;
  apiDocsUrl: string;
  queueAdminUrl: string;
}

export interface ServiceReadiness {
  name: string;
  ready: boolean;
  status: number | null;
  error?: string;
  latencyMs: number;
}

/** GET /status of the dashboard server. */
export interface DashboardStatus {
  services: ServiceReadiness[];
  pipeline: PipelineStats | null;
  pipelineError?: string;
  /** The server's clock when it answered: ages are computed against it, not the browser's. */
  at: number;
}

export const CANDLE_INTERVALS = { '1s': 1_000, '5s': 5_000, '1m': 60_000, '5m': 300_000 } as const;
export type CandleInterval = keyof typeof CANDLE_INTERVALS;
