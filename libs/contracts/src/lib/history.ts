/**
 * What the api's history routes answer (GET /symbols/:id/history and /candles), read back from
 * PostgreSQL. Browser-safe: the api's Swagger DTOs implement these, the dashboard reads them.
 */

/** One tick of GET /symbols/:id/history. */
export interface TickRow {
  event_id: string;
  symbol: string;
  price: number;
  volume: number;
  source: string;
  /** Event time, epoch ms. */
  ts: number;
  /** When the api accepted the tick, epoch ms. */
  received_at: number;
}

/** One OHLCV bar of GET /symbols/:id/candles. */
export interface Candle {
  /** Bar start, epoch ms. */
  t: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  /** Ticks in the bar. */
  trades: number;
  /** false for the bar still open (its end is in the future). */
  final: boolean;
}

/** The `interval`s of GET /symbols/:id/candles and their length in ms. */
export const CANDLE_INTERVALS = { '1s': 1_000, '5s': 5_000, '1m': 60_000, '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 } as const;
export type CandleInterval = keyof typeof CANDLE_INTERVALS;
