import type { Candle } from '@md/contracts';

export interface LiveTick {
  price: number;
  volume: number;
  ts: number;
}

/** Start of the bar a tick falls in: bars are aligned to the Unix epoch, as the api's are. */
export const barStart = (ts: number, intervalMs: number) => Math.floor(ts / intervalMs) * intervalMs;

/**
 * The bars after one live tick: the tick moves the open bar (high, low, close, volume,
 * trades) or opens the next one. A tick older than the last bar is left to the next refetch
 * (the chart can only update its newest bar), so the answer is the same bars, unchanged.
 * Open/close follow arrival order here; the refetched bars order by (ts, event_id).
 */
export function applyTick(bars: readonly Candle[], tick: LiveTick, intervalMs: number, now: number): Candle[] {
  const t = barStart(tick.ts, intervalMs);
  const last = bars[bars.length - 1];
  if (last && t < last.t) return bars as Candle[];
  const final = t + intervalMs <= now;
  if (last && t === last.t) {
    const moved: Candle = {
      ...last,
      high: Math.max(last.high, tick.price),
      low: Math.min(last.low, tick.price),
      close: tick.price,
      volume: last.volume + tick.volume,
      trades: last.trades + 1,
      final,
    };
    return [...bars.slice(0, -1), moved];
  }
  return [...bars, { t, open: tick.price, high: tick.price, low: tick.price, close: tick.price, volume: tick.volume, trades: 1, final }];
}
