import { LAST_N, WINDOW_MS, type Tick } from '@md/contracts';
import { compareTicks } from './order';

/**
 * calc-a's output for a symbol: what its windows hold after the ticks seen so far. calc-b
 * turns it into the view W (buildView). The consumers get it from the calc-a Lua script;
 * `summarize` computes it directly from a set of ticks and is the reference.
 */
export interface WindowSummary {
  symbol: string;
  tickCount: number;
  newest: { ts: number; eventId: string; price: number; source: string };
  /** Prices of the LAST_N newest ticks, oldest first. */
  last10: number[];
  /** The ticks with ts in (newest.ts − WINDOW_MS, newest.ts]. */
  window: {
    count: number;
    /** Σ volume. */
    volume: number;
    /** Σ price·volume. */
    pv: number;
    high: number;
    low: number;
    /** Price of the oldest tick of the window by (ts, event_id). */
    open: number;
  };
}

/** Unique ticks by event_id (the first occurrence wins), in tick order. */
export function uniqueTicks(ticks: readonly Tick[]): Tick[] {
  const seen = new Set<string>();
  return ticks.filter((t) => !seen.has(t.event_id) && seen.add(t.event_id)).sort(compareTicks);
}

/** The reference calc-a: the summary of one symbol's tick set, computed from scratch. */
export function summarize(ticks: readonly Tick[]): WindowSummary {
  const sorted = uniqueTicks(ticks);
  if (sorted.length === 0) throw new Error('summarize needs at least one tick');
  const newest = sorted[sorted.length - 1];
  const inWindow = sorted.filter((t) => t.ts > newest.ts - WINDOW_MS);
  let volume = 0;
  let pv = 0;
  for (const t of inWindow) {
    volume += t.volume;
    pv += t.price * t.volume;
  }
  return {
    symbol: newest.symbol,
    tickCount: sorted.length,
    newest: { ts: newest.ts, eventId: newest.event_id, price: newest.price, source: newest.source },
    last10: sorted.slice(-LAST_N).map((t) => t.price),
    window: {
      count: inWindow.length,
      volume,
      pv,
      high: Math.max(...inWindow.map((t) => t.price)),
      low: Math.min(...inWindow.map((t) => t.price)),
      open: inWindow[0].price,
    },
  };
}
