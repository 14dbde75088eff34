import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { view } from '../testing/views';
import { MarketGrid } from './MarketGrid';
import { MarketStore } from './market-store';

const NOW = 1_700_000_100_000;

function storeWith(...symbols: [string, number][]) {
  const store = new MarketStore();
  store.replaceAll(
    symbols.map(([symbol, price]) =>
      view({ symbol, price, updatedAt: NOW, change1m: 100.25, changePct1m: 0.1563, sma10: price - 1, vwap1m: price + 1, volume1m: 12.5 }),
    ),
    NOW,
  );
  return store;
}

const priceOf = (symbol: string) => within(screen.getByRole('row', { name: new RegExp(symbol) })).getByTestId('price');
const ageOf = (symbol: string) => within(screen.getByRole('row', { name: new RegExp(symbol) })).getByTestId('age');

describe('MarketGrid', () => {
  it('is a table with one row per symbol, each headed by a link to its page', () => {
    const store = storeWith(['BTCUSDT', 64250.5], ['EURUSD', 1.0845]);
    render(<MarketGrid rows={store.getRows()} now={NOW} />);
    expect(screen.getByRole('table')).toBeTruthy();
    expect(screen.getAllByRole('columnheader').map((h) => h.textContent)).toEqual([
      'Symbol',
      'Price',
      'Chg 1m',
      '% 1m',
      'SMA10',
      'VWAP 1m',
      'Vol 1m',
      'Trend',
      'Age',
    ]);
    const links = screen.getAllByRole('link');
    expect(links.map((a) => [a.textContent, a.getAttribute('href')])).toEqual([
      ['BTCUSDT', '/symbols/BTCUSDT'],
      ['EURUSD', '/symbols/EURUSD'],
    ]);
  });

  it('shows price, change, %, SMA10, VWAP and volume with fixed decimals per symbol', () => {
    const store = storeWith(['BTCUSDT', 64250.5], ['EURUSD', 1.0845]);
    render(<MarketGrid rows={store.getRows()} now={NOW} />);
    const btc = within(screen.getByRole('row', { name: /BTCUSDT/ }));
    expect(btc.getAllByRole('cell').map((c) => c.textContent)).toEqual([
      '64,250.50',
      '+100.25',
      '+0.16%',
      '64,249.50',
      '64,251.50',
      '12.50',
      '',
      '0.0s',
    ]);
    expect(priceOf('EURUSD').textContent).toBe('1.0845');
  });

  it('keeps the number of decimals when the price changes (no width change)', () => {
    const store = storeWith(['SOLUSDT', 150]);
    const { rerender } = render(<MarketGrid rows={store.getRows()} now={NOW} />);
    expect(priceOf('SOLUSDT').textContent).toBe('150.000');
    store.applyUpdates([{ view: view({ symbol: 'SOLUSDT', price: 9.5, tickCount: 2 }), arrivedAt: NOW }]);
    rerender(<MarketGrid rows={store.getRows()} now={NOW} />);
    expect(priceOf('SOLUSDT').textContent).toBe('9.500');
  });

  it('flashes green on a rise and red on a fall, restarting on every change', () => {
    const store = storeWith(['BTCUSDT', 100]);
    const { rerender } = render(<MarketGrid rows={store.getRows()} now={NOW} />);
    expect(priceOf('BTCUSDT').className).not.toMatch(/flash/);

    const step = (price: number, tickCount: number) => {
      store.applyUpdates([{ view: view({ symbol: 'BTCUSDT', price, tickCount }), arrivedAt: NOW }]);
      rerender(<MarketGrid rows={store.getRows()} now={NOW} />);
      return priceOf('BTCUSDT').className;
    };
    expect(step(101, 2)).toMatch(/\bflash-up-1\b/);
    expect(step(102, 3)).toMatch(/\bflash-up-0\b/);
    expect(step(99, 4)).toMatch(/\bflash-down-1\b/);
    expect(step(99, 5)).toMatch(/\bflash-down-1\b/); // same price: the running flash is not restarted
  });

  it('turns the age amber, then red, against the symbol’s own update rhythm', () => {
    const store = new MarketStore();
    // One update a second, four times: typical interval 1 s.
    for (let i = 0; i < 5; i++) {
      store.applyUpdates([{ view: view({ symbol: 'XAUUSD', price: 2000 + i, tickCount: i + 1 }), arrivedAt: NOW + i * 1_000 }]);
    }
    const last = NOW + 4_000;
    const { rerender } = render(<MarketGrid rows={store.getRows()} now={last + 2_000} />);
    expect(ageOf('XAUUSD').textContent).toBe('2.0s');
    expect(ageOf('XAUUSD').className).toMatch(/text-slate-400/);
    expect(screen.getByRole('row', { name: /XAUUSD/ }).dataset.stale).toBe('fresh');

    rerender(<MarketGrid rows={store.getRows()} now={last + 3_500} />);
    expect(screen.getByRole('row', { name: /XAUUSD/ }).dataset.stale).toBe('amber');
    expect(ageOf('XAUUSD').className).toMatch(/text-amber-300/);
    expect(ageOf('XAUUSD').textContent).toBe('3.5s (late)');

    rerender(<MarketGrid rows={store.getRows()} now={last + 10_500} />);
    expect(screen.getByRole('row', { name: /XAUUSD/ }).dataset.stale).toBe('red');
    expect(ageOf('XAUUSD').className).toMatch(/text-rose-400/);
    expect(ageOf('XAUUSD').textContent).toBe('10s (stale)');
  });

  it('says so when there is nothing to show', () => {
    render(<MarketGrid rows={[]} now={NOW} />);
    expect(screen.getByText(/waiting for ticks/)).toBeTruthy();
  });
});
