import type { SymbolView } from '@md/contracts';

/** A view W for tests; only what a test cares about needs saying. */
export function view(overrides: Partial<SymbolView> & { symbol: string; price: number }): SymbolView {
  return {
    ts: 1_700_000_000_000,
    source: 'sim',
    eventId: `${overrides.symbol}-1`,
    tickCount: 1,
    last10: [overrides.price],
    sma10: overrides.price,
    volume1m: 1,
    vwap1m: overrides.price,
    high1m: overrides.price,
    low1m: overrides.price,
    open1m: overrides.price,
    change1m: 0,
    changePct1m: 0,
    updatedAt: 1_700_000_000_000,
    ...overrides,
  };
}
