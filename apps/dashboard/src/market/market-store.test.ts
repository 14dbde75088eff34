import { describe, expect, it, vi } from 'vitest';
import { view } from '../testing/views';
import { MarketStore } from './market-store';

describe('MarketStore', () => {
  it('is seeded from GET /symbols, then replaced by a snapshot, which drops the symbols it lacks', () => {
    const store = new MarketStore();
    store.seedSummaries(
      [
        { symbol: 'ETHUSDT', price: 3000, ts: 1, changePct1m: 0.1, tickCount: 5, updatedAt: 1_000 },
        { symbol: 'BTCUSDT', price: 60000, ts: 1, changePct1m: -0.2, tickCount: 9, updatedAt: 2_000 },
      ],
      10_000,
    );
    expect(store.getRows().map((r) => [r.symbol, r.price, r.updatedAt])).toEqual([
      ['BTCUSDT', 60000, 2_000],
      ['ETHUSDT', 3000, 1_000],
    ]);
    store.replaceAll([view({ symbol: 'SOLUSDT', price: 150, tickCount: 3, updatedAt: 9_000 })], 10_000);
    expect(store.getRows().map((r) => r.symbol)).toEqual(['SOLUSDT']);
    expect(store.get('SOLUSDT')?.view?.tickCount).toBe(3);
  });

  it('never lets a late GET /symbols answer overwrite a view from the stream', () => {
    const store = new MarketStore();
    store.replaceAll([view({ symbol: 'BTCUSDT', price: 61000, tickCount: 20 })], 10_000);
    store.seedSummaries([{ symbol: 'BTCUSDT', price: 60000, ts: 1, changePct1m: 0, tickCount: 25, updatedAt: 1 }], 10_000);
    expect(store.get('BTCUSDT')?.price).toBe(61000);
  });

  it('applies live views in order, flashing on price changes and ignoring older versions', () => {
    const store = new MarketStore();
    store.replaceAll([view({ symbol: 'BTCUSDT', price: 100, tickCount: 1, updatedAt: 1_000 })], 1_000);
    store.applyUpdates([
      { view: view({ symbol: 'BTCUSDT', price: 101, tickCount: 2 }), arrivedAt: 2_000 },
      { view: view({ symbol: 'BTCUSDT', price: 99, tickCount: 3 }), arrivedAt: 2_500 },
      { view: view({ symbol: 'BTCUSDT', price: 500, tickCount: 2 }), arrivedAt: 2_600 }, // older version: ignored
    ]);
    const row = store.get('BTCUSDT');
    expect(row).toMatchObject({ price: 99, direction: 'down', changes: 2, updatedAt: 2_500, tickCount: 3 });
    expect(row?.gaps).toEqual([1_000, 500]);
    expect(row?.prices).toEqual([100, 101, 99]);
  });

  it('keeps the flash and its count when the price repeats (no new flash)', () => {
    const store = new MarketStore();
    store.applyUpdates([{ view: view({ symbol: 'EURUSD', price: 1.1, tickCount: 1 }), arrivedAt: 1 }]);
    store.applyUpdates([{ view: view({ symbol: 'EURUSD', price: 1.2, tickCount: 2 }), arrivedAt: 2 }]);
    store.applyUpdates([{ view: view({ symbol: 'EURUSD', price: 1.2, tickCount: 3 }), arrivedAt: 3 }]);
    expect(store.get('EURUSD')).toMatchObject({ direction: 'up', changes: 1, tickCount: 3 });
  });

  it('notifies once per batch, and hands out a new rows array only when something changed', () => {
    const store = new MarketStore();
    const listener = vi.fn();
    store.subscribe(listener);
    store.applyUpdates(
      Array.from({ length: 100 }, (_, i) => ({ view: view({ symbol: `S${i % 5}`, price: i + 1, tickCount: i + 1 }), arrivedAt: i })),
    );
    expect(listener).toHaveBeenCalledTimes(1);
    const rows = store.getRows();
    store.applyUpdates([{ view: view({ symbol: 'S0', price: 1, tickCount: 1 }), arrivedAt: 200 }]); // stale
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.getRows()).toBe(rows);
  });
});
