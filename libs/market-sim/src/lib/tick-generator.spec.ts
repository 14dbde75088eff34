import fc from 'fast-check';
import { TickRules, tsProblem, type Tick } from '@md/contracts';
import { PriceModel } from './price-model';
import { TickGenerator } from './tick-generator';

const T0 = Date.UTC(2026, 0, 1);
const SYMBOLS = ['BTCUSDT', 'EURUSD', 'AAPL', 'NEWCOIN'];
const SOURCES = ['feeder-a', 'feeder-b', 'binance'];

/** Times of a run: increasing, sometimes equal (several ticks in one ms), sometimes seconds apart. */
const timesArb = fc
  .array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 200 })
  .map((gaps) => gaps.reduce<number[]>((ts, gap) => [...ts, (ts.at(-1) ?? T0) + gap], []));

const run = (seed: number | string, times: number[]): Tick[] => {
  const generator = new TickGenerator({ symbols: SYMBOLS, sources: SOURCES, seed });
  return times.map((t) => generator.next(t));
};
/** Everything but the event id, which is random on purpose. */
const replayable = (ticks: Tick[]) => ticks.map(({ symbol, price, volume, source, ts }) => ({ symbol, price, volume, source, ts }));

describe('TickGenerator', () => {
  it('cycles through the symbols in order', () => {
    fc.assert(
      fc.property(timesArb, (times) => {
        expect(run(1, times).map((t) => t.symbol)).toEqual(times.map((_, i) => SYMBOLS[i % SYMBOLS.length]));
      }),
    );
  });

  it('replays the same symbols, prices, volumes and sources for the same seed and times', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.string()), timesArb, (seed, times) => {
        expect(replayable(run(seed, times))).toEqual(replayable(run(seed, times)));
      }),
    );
    const times = Array.from({ length: 400 }, (_, i) => T0 + i * 250);
    expect(replayable(run('a', times))).not.toEqual(replayable(run('b', times)));
  });

  it('makes ticks that pass the TickRules, with ts = nowMs and unique, ordered event ids', () => {
    fc.assert(
      fc.property(fc.integer(), timesArb, (seed, times) => {
        const ticks = run(seed, times);
        ticks.forEach((tick, i) => {
          expect(tick.ts).toBe(times[i]);
          expect(TickRules.symbolPattern.test(tick.symbol)).toBe(true);
          expect(TickRules.eventIdPattern.test(tick.event_id)).toBe(true);
          expect(TickRules.sourcePattern.test(tick.source)).toBe(true);
          expect(SOURCES).toContain(tick.source);
          expect(tsProblem(tick.ts, tick.ts)).toBeUndefined();
          expect(Number.isFinite(tick.price) && tick.price > 0).toBe(true);
          expect(Number.isFinite(tick.volume) && tick.volume > 0).toBe(true);
        });
        const ids = ticks.map((t) => t.event_id);
        expect(new Set(ids).size).toBe(ids.length);
        expect([...ids].sort()).toEqual(ids);
      }),
    );
  });

  it("steps each symbol's price by the time since that symbol's previous tick (1000 ms for the first)", () => {
    fc.assert(
      fc.property(fc.string(), timesArb, (seed, times) => {
        const model = new PriceModel(SYMBOLS, seed);
        const last = new Map<string, number>();
        const expected = times.map((t, i) => {
          const symbol = SYMBOLS[i % SYMBOLS.length];
          const previous = last.get(symbol);
          last.set(symbol, t);
          return { symbol, ...model.step(symbol, previous === undefined ? 1000 : t - previous) };
        });
        expect(run(seed, times).map(({ symbol, price, volume }) => ({ symbol, price, volume }))).toEqual(expected);
      }),
    );
  });

  it('picks every source, about equally often', () => {
    const counts = new Map<string, number>();
    for (const tick of run(
      'sources',
      Array.from({ length: 6000 }, (_, i) => T0 + i),
    )) {
      counts.set(tick.source, (counts.get(tick.source) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([...SOURCES].sort());
    for (const count of counts.values()) expect(Math.abs(count - 2000)).toBeLessThan(200);
  });

  it('upper-cases symbols, as a normalised Tick carries them', () => {
    const generator = new TickGenerator({ symbols: ['btcusdt', 'Aapl'], sources: ['s'], seed: 1 });
    expect([generator.next(T0).symbol, generator.next(T0).symbol]).toEqual(['BTCUSDT', 'AAPL']);
  });

  it('treats a clock that went backwards as no time passing', () => {
    const generator = new TickGenerator({ symbols: ['AAPL'], sources: ['s'], seed: 3 });
    const model = new PriceModel(['AAPL'], 3);
    const ticks = [T0 + 60_000, T0, T0 + 1000].map((t) => generator.next(t));
    expect(ticks.map((t) => t.price)).toEqual([
      model.step('AAPL', 1000).price,
      model.step('AAPL', 0).price,
      model.step('AAPL', 1000).price,
    ]);
    expect(ticks.map((t) => t.ts)).toEqual([T0 + 60_000, T0, T0 + 1000]);
  });

  it('refuses bad options and non-integer times', () => {
    const ok = { symbols: ['AAPL'], sources: ['s'], seed: 1 };
    expect(() => new TickGenerator({ ...ok, symbols: [] })).toThrow(RangeError);
    expect(() => new TickGenerator({ ...ok, sources: [] })).toThrow(RangeError);
    expect(() => new TickGenerator({ ...ok, symbols: ['BAD SYMBOL'] })).toThrow(RangeError);
    expect(() => new TickGenerator({ ...ok, symbols: ['x'.repeat(33)] })).toThrow(RangeError);
    expect(() => new TickGenerator({ ...ok, symbols: ['AAPL', 'aapl'] })).toThrow(RangeError);
    expect(() => new TickGenerator({ ...ok, sources: ['bad\nsource'] })).toThrow(RangeError);
    const generator = new TickGenerator(ok);
    for (const bad of [T0 + 0.5, -1, Number.NaN]) expect(() => generator.next(bad)).toThrow(RangeError);
  });
});
