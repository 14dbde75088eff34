import { MessageType } from './names';

/**
 * The view W of a symbol: over the set of its unique ticks (unique by event_id), with
 * "newest" meaning the greatest (ts, event_id). Defined by event time, so it is the same
 * whatever order the ticks arrived in. The 1-minute window is ts in (newest.ts − 60000, newest.ts].
 */
export interface SymbolView {
  symbol: string;
  /** Price, ts (epoch ms), source and event id of the newest tick. */
  price: number;
  ts: number;
  source: string;
  eventId: string;
  /** Unique ticks seen; grows by exactly one per unique tick, so it is the view's version. */
  tickCount: number;
  /** Prices of the 10 newest ticks, oldest first. */
  last10: number[];
  sma10: number;
  volume1m: number;
  /** null when volume1m is 0. */
  vwap1m: number | null;
  high1m: number;
  low1m: number;
  /** Price of the oldest tick (by (ts, event_id)) in the window. */
  open1m: number;
  change1m: number;
  changePct1m: number;
  /** Epoch ms when calc-b produced this view. */
  updatedAt: number;
}

export const WINDOW_MS = 60_000;
export const LAST_N = 10;

/** POST /internal/agg-update: a view from calc-b. */
export interface AggUpdate {
  symbol: string;
  view: SymbolView;
  /** Epoch ms the consumer sent it. */
  ts: number;
  /** When the tick that produced this view reached the api (for end-to-end latency). */
  receivedAt?: number;
}

/** The api's answer to each AggUpdate of a POST /internal/agg-update, in order. */
export interface AggUpdateResult {
  symbol: string;
  tickCount: number;
  /** false: the api already had this version or a newer one. */
  stored: boolean;
}

/** Views per POST /internal/agg-update at most, and its body limit (a view is under 1 KiB). */
export const AGG_UPDATES_MAX = 200;
export const AGG_UPDATES_MAX_BYTES = 512 * 1024;

export interface SymbolUpdatedMessage {
  type: typeof MessageType.SymbolUpdated;
  symbol: string;
  view: SymbolView;
  /** When the api received the tick behind this view (epoch ms), for end-to-end latency. */
  receivedAt?: number;
  seq?: string;
  /** From the gateway, under conflation: how many newer-than-delivered views were replaced by this one. */
  skipped?: number;
}

/** One row of GET /symbols. */
export interface SymbolSummary {
  symbol: string;
  price: number;
  ts: number;
  changePct1m: number;
  tickCount: number;
  updatedAt: number;
}

export function symbolUpdatedMessage(view: SymbolView, receivedAt?: number): SymbolUpdatedMessage {
  return { type: MessageType.SymbolUpdated, symbol: view.symbol, view, ...(receivedAt ? { receivedAt } : {}) };
}
