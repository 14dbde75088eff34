import type { SymbolView, Tick } from '@md/contracts';
import { summarize, type WindowSummary } from './summary';

/** calc-b: the view W from calc-a's summary (the newest tick is part of it). */
export function buildView(summary: WindowSummary, updatedAt: number): SymbolView {
  const { newest, window, last10 } = summary;
  const sma10 = last10.reduce((sum, p) => sum + p, 0) / last10.length;
  const change1m = newest.price - window.open;
  return {
    symbol: summary.symbol,
    price: newest.price,
    ts: newest.ts,
    source: newest.source,
    eventId: newest.eventId,
    tickCount: summary.tickCount,
    last10,
    sma10,
    volume1m: window.volume,
    vwap1m: window.volume > 0 ? window.pv / window.volume : null,
    high1m: window.high,
    low1m: window.low,
    open1m: window.open,
    change1m,
    changePct1m: (100 * change1m) / window.open,
    updatedAt,
  };
}

/** The view W of a tick set computed from scratch: what the pipeline must converge to. */
export function referenceView(ticks: readonly Tick[], updatedAt = 0): SymbolView {
  return buildView(summarize(ticks), updatedAt);
}

/** Fields compared as floats (relative tolerance); the rest must be equal. */
const FLOAT_FIELDS = ['sma10', 'volume1m', 'vwap1m', 'high1m', 'low1m', 'open1m', 'change1m', 'changePct1m'] as const;

/**
 * Why `actual` differs from `expected` beyond a relative `tolerance` on the float fields,
 * ignoring updatedAt; undefined when they agree.
 */
export function viewMismatch(actual: SymbolView, expected: SymbolView, tolerance = 1e-9): string | undefined {
  for (const key of ['symbol', 'price', 'ts', 'source', 'eventId', 'tickCount'] as const) {
    if (actual[key] !== expected[key]) return `${key}: ${actual[key]} ≠ ${expected[key]}`;
  }
  if (actual.last10.length !== expected.last10.length || actual.last10.some((p, i) => p !== expected.last10[i])) {
    return `last10: ${actual.last10.join(',')} ≠ ${expected.last10.join(',')}`;
  }
  for (const key of FLOAT_FIELDS) {
    const [a, e] = [actual[key], expected[key]];
    if (a === null || e === null) {
      if (a !== e) return `${key}: ${a} ≠ ${e}`;
      continue;
    }
    if (Math.abs(a - e) > tolerance * Math.max(Math.abs(a), Math.abs(e))) return `${key}: ${a} ≠ ${e}`;
  }
  return undefined;
}
