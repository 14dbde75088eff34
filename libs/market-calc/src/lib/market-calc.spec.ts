import fc from 'fast-check';
import type { Tick } from '@md/contracts';
import { tick } from '../testing';
import { compareTicks } from './order';
import { summarize } from './summary';
import { buildView, referenceView, viewMismatch } from './view';
import { WindowState } from './window-state';

const T0 = Date.UTC(2026, 0, 1);

describe('compareTicks', () => {
  it('orders by ts, then by event_id', () => {
    const ticks = [tick(T0 + 1, 1, 1, 'a'), tick(T0, 1, 1, 'b'), tick(T0, 1, 1, 'a'), tick(T0, 1, 1, 'ab')];
    expect([...ticks].sort(compareTicks).map((t) => `${t.ts - T0}${t.event_id}`)).toEqual(['0a', '0ab', '0b', '1a']);
  });
});

describe('referenceView (the definition of W)', () => {
  it('computes every field over the newest tick, the last 10 and the 1-minute window', () => {
    const ticks = [
      tick(T0 - 61_000, 90, 5, 'old'), // before the window, still in tickCount and last10
      tick(T0, 100, 2, 'a'), // window opens after T0 + 500 − 60 000: this one is in
      tick(T0 + 100, 110, 0, 'b'),
      tick(T0 + 500, 105, 1, 'c'),
    ];
    const view = referenceView(ticks, 42);
    expect(view).toEqual({
      symbol: 'BTCUSDT',
      price: 105,
      ts: T0 + 500,
      source: 'test',
      eventId: 'c',
      tickCount: 4,
      last10: [90, 100, 110, 105],
      sma10: (90 + 100 + 110 + 105) / 4,
      volume1m: 3,
      vwap1m: (100 * 2 + 105 * 1) / 3,
      high1m: 110,
      low1m: 100,
      open1m: 100,
      change1m: 5,
      changePct1m: 5,
      updatedAt: 42,
    });
  });

  it('excludes a tick exactly 60 s older than the newest, includes one a millisecond younger', () => {
    const view = referenceView([tick(T0, 1, 1, 'edge'), tick(T0 + 1, 2, 1, 'in'), tick(T0 + 60_000, 3, 1, 'new')]);
    expect(view.open1m).toBe(2);
    expect(view.volume1m).toBe(2);
  });

  it('gives vwap1m null when the window holds no volume', () => {
    expect(referenceView([tick(T0, 5, 0, 'a'), tick(T0 + 1, 6, 0, 'b')]).vwap1m).toBeNull();
  });

  it('breaks ts ties by event_id for the newest and the open', () => {
    const view = referenceView([tick(T0, 1, 1, 'b'), tick(T0, 2, 1, 'a'), tick(T0, 3, 1, 'c')]);
    expect(view.eventId).toBe('c');
    expect(view.open1m).toBe(2);
  });

  it('keeps only the 10 newest prices, oldest first', () => {
    const ticks = Array.from({ length: 15 }, (_, i) => tick(T0 + i, 100 + i, 1, `e${String(i).padStart(2, '0')}`));
    expect(referenceView(ticks.reverse()).last10).toEqual([105, 106, 107, 108, 109, 110, 111, 112, 113, 114]);
  });
});

/** Ticks of one symbol: timestamps clustered so windows open, slide and evict; some ts ties. */
const tickSet = fc
  .uniqueArray(
    fc.record({
      // Whole seconds often (so ticks sit exactly on the window's edge and tie on ts), any ms sometimes.
      // A few shared instants (heavy ts ties), whole seconds (ticks exactly on the window's
      // edge), and any millisecond.
      ts: fc.oneof(
        fc.integer({ min: 0, max: 4 }).map((k) => T0 + 30_000 * k),
        fc.integer({ min: 0, max: 240 }).map((s) => T0 + 1000 * s),
        fc.integer({ min: 0, max: 240_000 }).map((ms) => T0 + ms),
      ),
      price: fc.double({ min: 0.0001, max: 100_000, noNaN: true, noDefaultInfinity: true }),
      // Quantities as markets have them (0, or lots from 1e-6 up), with rare giants: a huge
      // volume leaving a window of small ones is what makes running sums drift.
      volume: fc.oneof(
        { weight: 2, arbitrary: fc.constant(0) },
        { weight: 10, arbitrary: fc.double({ min: 1e-6, max: 1_000, noNaN: true }) },
        { weight: 1, arbitrary: fc.double({ min: 1e6, max: 1e12, noNaN: true }) },
      ),
      event_id: fc.stringMatching(/^[0-9A-Za-z:~%-]{1,12}$/),
    }),
    // size 'max': fast-check's default size keeps arrays near 10, too small for windows past
    // EXACT_BELOW, where the running sums are used.
    { minLength: 1, maxLength: 300, selector: (t) => t.event_id, size: 'max' },
  )
  .map((records) => records.map((r) => tick(r.ts, r.price, r.volume, r.event_id)));

/** The same ticks in any order, with any of them repeated (a redelivery or a client retry). */
const arrival = tickSet.chain((ticks) =>
  fc
    .tuple(fc.shuffledSubarray(ticks, { minLength: 0, maxLength: ticks.length }), fc.nat())
    .map(([repeats, seed]) => ({ ticks, arrival: shuffle([...ticks, ...repeats], seed) })),
);

function shuffle<T>(list: T[], seed: number): T[] {
  let state = seed || 1;
  for (let i = list.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

describe('WindowState (calc-a, incremental) against the reference', () => {
  it('equals the reference over any permutation of a tick set with any duplicates inserted', () => {
    fc.assert(
      fc.property(arrival, ({ ticks, arrival }) => {
        const state = new WindowState();
        const applied = arrival.map((t) => state.apply(t));
        expect(applied.filter(Boolean)).toHaveLength(ticks.length);
        expect(viewMismatch(buildView(state.summary(), 0), referenceView(ticks))).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('matches the reference after every single step, not only at the end', () => {
    fc.assert(
      fc.property(arrival, ({ arrival }) => {
        const state = new WindowState();
        const seenSoFar: Tick[] = [];
        for (const t of arrival) {
          state.apply(t);
          seenSoFar.push(t);
          expect(viewMismatch(buildView(state.summary(), 0), referenceView(seenSoFar))).toBeUndefined();
        }
      }),
      { numRuns: 25 },
    );
  });

  it('counts each unique tick exactly once, so tickCount is a version', () => {
    const state = new WindowState();
    const a = tick(T0, 1, 1, 'a');
    expect(state.apply(a)).toBe(true);
    expect(state.apply({ ...a })).toBe(false);
    expect(state.apply(tick(T0 - 120_000, 2, 1, 'late'))).toBe(true);
    expect(state.summary()).toMatchObject({ tickCount: 2, last10: [2, 1], window: { count: 1, volume: 1 } });
  });

  it('does not keep the rounding error of a giant volume that has left a large window', () => {
    // The giant enters while the window is large enough for running sums, then leaves a
    // window of 40 tiny volumes: (1e12 + 0.04) − 1e12 keeps ~1e-4 of rounding error.
    const ticks = [
      tick(T0, 250, 1e12, 'giant'),
      ...Array.from({ length: 40 }, (_, i) => tick(T0 + 1000 + 100 * i, 100 + i, 0.001, `a${String(i).padStart(2, '0')}`)),
      tick(T0 + 60_001, 99, 0.001, 'last'), // evicts only the giant: 41 ticks stay
    ];
    const state = new WindowState();
    ticks.forEach((t) => state.apply(t));
    expect(viewMismatch(buildView(state.summary(), 0), referenceView(ticks))).toBeUndefined();
  });

  it('keeps a large sliding window without recomputing it: compensated sums stay within the bound', () => {
    // 40,000 ticks, 10 ms apart: a window of 6,000 that slides 34,000 times (74,000 adds and
    // evicts), prices and volumes as a market has them, a giant volume passing through. Plain
    // running sums (whose bound grows by ε of the sum per step) recomputed this window 7 times.
    const ticks = Array.from({ length: 40_000 }, (_, i) =>
      tick(T0 + 10 * i, 100 + Math.sin(i / 50) * 3 + (i % 7) / 100, i === 9_000 ? 5e9 : 0.001 + ((i * 7_919) % 1_000) / 37, `s${i}`),
    );
    const state = new WindowState();
    ticks.forEach((t) => state.apply(t));
    expect(state.recomputes).toBe(0);
    expect(viewMismatch(buildView(state.summary(), 0), referenceView(ticks), 1e-12)).toBeUndefined();
  });

  it('keeps exact zero volume (vwap null) after volume has left the window', () => {
    const state = new WindowState();
    state.apply(tick(T0, 1, 0.1, 'a'));
    state.apply(tick(T0 + 1, 1, 0.2, 'b'));
    state.apply(tick(T0 + 120_000, 1, 0, 'c'));
    expect(buildView(state.summary(), 0)).toMatchObject({ volume1m: 0, vwap1m: null });
  });
});

describe('viewMismatch', () => {
  const base = referenceView([tick(T0, 100, 2, 'a'), tick(T0 + 1, 101, 3, 'b')]);

  it('accepts float noise within the relative tolerance', () => {
    expect(viewMismatch({ ...base, vwap1m: (base.vwap1m as number) * (1 + 1e-12) }, base)).toBeUndefined();
  });

  it('reports a real difference, by field', () => {
    expect(viewMismatch({ ...base, volume1m: 5.0001 }, base)).toMatch(/^volume1m/);
    expect(viewMismatch({ ...base, tickCount: 3 }, base)).toMatch(/^tickCount/);
    expect(viewMismatch({ ...base, last10: [100] }, base)).toMatch(/^last10/);
    expect(viewMismatch({ ...base, vwap1m: null }, base)).toMatch(/^vwap1m/);
  });

  it('summarize refuses an empty set', () => {
    expect(() => summarize([])).toThrow();
  });
});
