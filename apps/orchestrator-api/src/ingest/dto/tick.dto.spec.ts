import { TickRules } from '@md/contracts';
import { validateTickItem } from '../validate-tick-item';

const now = Date.now();
const good = {
  symbol: 'btcusdt',
  price: TickRules.minPrice,
  volume: 1,
  source: 'binance',
  ts: now,
  event_id: 'e-1',
};
const errorsOf = (item: unknown) => {
  const result = validateTickItem(item, { maxFutureSkewMs: 5_000 }, now);
  return 'errors' in result ? result.errors : [];
};

describe('TickDto volume: 0 or at least TickRules.minVolume', () => {
  it.each([0, TickRules.minVolume, 1, TickRules.maxVolume])('accepts %p', (volume) => {
    expect(errorsOf({ ...good, volume })).toEqual([]);
  });

  // 5e-324 × 1e-12 is 0 (a VWAP of 0, below the low); 1e-300 is a subnormal product.
  it.each([5e-324, 1e-300, 1e-13, 9.99e-13])('refuses %p naming volume', (volume) => {
    expect(errorsOf({ ...good, volume })).toEqual([
      {
        field: 'volume',
        reason: `volume must be 0 or at least ${TickRules.minVolume}`,
      },
    ]);
  });

  it('keeps every accepted price·volume other than 0 a normal double', () => {
    expect(TickRules.minPrice * TickRules.minVolume).toBeGreaterThanOrEqual(2.2250738585072014e-308);
    expect(TickRules.minPrice * TickRules.minVolume).toBeCloseTo(1e-24, 30);
  });
});
