import { describe, expect, it } from 'vitest';
import type { Candle } from '@md/contracts';
import { applyTick, barStart } from './candles';

const bar = (t: number, price: number): Candle => ({
  t,
  open: price,
  high: price,
  low: price,
  close: price,
  volume: 1,
  trades: 1,
  final: false,
});

describe('applyTick (the live open bar)', () => {
  it('aligns bars to the epoch, like the api', () => {
    expect(barStart(1_700_000_012_345, 5_000)).toBe(1_700_000_010_000);
  });

  it('moves the open bar: high, low, close, volume and trades', () => {
    const bars = [bar(0, 10), bar(5_000, 20)];
    const after = applyTick(bars, { ts: 7_000, price: 25, volume: 2 }, 5_000, 8_000);
    expect(after.at(-1)).toEqual({ t: 5_000, open: 20, high: 25, low: 20, close: 25, volume: 3, trades: 2, final: false });
    const lower = applyTick(after, { ts: 9_999, price: 18, volume: 1 }, 5_000, 10_001);
    expect(lower.at(-1)).toMatchObject({ high: 25, low: 18, close: 18, trades: 3, final: true });
    expect(after[0]).toBe(bars[0]);
  });

  it('opens the next bar when the tick is past the open one', () => {
    const after = applyTick([bar(0, 10)], { ts: 12_000, price: 11, volume: 4 }, 5_000, 12_500);
    expect(after.map((b) => b.t)).toEqual([0, 10_000]);
    expect(after[1]).toEqual({ t: 10_000, open: 11, high: 11, low: 11, close: 11, volume: 4, trades: 1, final: false });
  });

  it('leaves older bars to the next refetch', () => {
    const bars = [bar(0, 10), bar(5_000, 20)];
    expect(applyTick(bars, { ts: 1_000, price: 99, volume: 1 }, 5_000, 8_000)).toBe(bars);
  });

  it('starts from nothing', () => {
    expect(applyTick([], { ts: 61_000, price: 5, volume: 1 }, 60_000, 61_500)).toHaveLength(1);
  });
});
