import fc from 'fast-check';
import { TickRules } from '@md/contracts';
import { INSTRUMENTS, instrumentFor, type Instrument } from './instruments';
import { PriceModel } from './price-model';

const KNOWN = Object.values(INSTRUMENTS);
const MS_PER_YEAR = 365.25 * 24 * 3600 * 1000;

/** Decimal places as written: 0.01 → 2, 1e-5 → 5, 1000 → 0. */
const decimals = (x: number) => {
  const [mantissa, exponent] = x.toString().split('e');
  return Math.max(0, (mantissa.split('.')[1]?.length ?? 0) - Number(exponent ?? 0));
};
const { abs, log, max, round } = Math; // module scope: global lookups are slow in Jest's vm context

/**
 * A test for "a multiple of step (to float tolerance) and exactly the double nearest that
 * decimal", i.e. no float noise such as 0.30000000000000004 (which is not 30 / 100).
 */
const onGrid = (step: number) => {
  const scale = 10 ** decimals(step);
  return (x: number) => {
    const k = x / step;
    return abs(k - round(k)) <= 1e-9 * max(1, k) && round(x * scale) / scale === x;
  };
};
const isCleanMultiple = (x: number, step: number) => onGrid(step)(x);

describe('INSTRUMENTS', () => {
  it('holds the expected markets with plausible parameters', () => {
    expect(Object.keys(INSTRUMENTS)).toEqual(
      expect.arrayContaining(['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XAUUSD', 'XAGUSD', 'EURUSD', 'GBPUSD', 'USDJPY', 'AAPL', 'MSFT', 'SPY']),
    );
    expect(INSTRUMENTS['BTCUSDT']).toMatchObject({ class: 'crypto', basePrice: 65_000, annualVol: 0.6, tickSize: 0.01, lotSize: 0.00001 });
    expect(INSTRUMENTS['EURUSD']).toMatchObject({ class: 'fx', tickSize: 0.00001, lotSize: 1000 });
    for (const [key, i] of Object.entries(INSTRUMENTS)) {
      expect(i.symbol).toBe(key);
      expect(TickRules.symbolPattern.test(key)).toBe(true);
      expect(key).toBe(key.toUpperCase());
      for (const v of [i.basePrice, i.tickSize, i.lotSize, i.meanVolume]) expect(v).toBeGreaterThan(0);
      expect(i.annualVol).toBeGreaterThan(0.01);
      expect(i.annualVol).toBeLessThan(2);
      expect(isCleanMultiple(i.basePrice, i.tickSize)).toBe(true);
      expect(i.meanVolume).toBeGreaterThanOrEqual(i.lotSize);
    }
  });

  it('cannot be changed by a caller', () => {
    expect(Object.isFrozen(INSTRUMENTS)).toBe(true);
    expect(Object.isFrozen(INSTRUMENTS['AAPL'])).toBe(true);
  });
});

describe('instrumentFor', () => {
  it('finds known symbols, case-insensitively', () => {
    expect(instrumentFor('BTCUSDT')).toBe(INSTRUMENTS['BTCUSDT']);
    expect(instrumentFor('eurusd')).toBe(INSTRUMENTS['EURUSD']);
  });

  it('gives unknown symbols deterministic equity-like defaults', () => {
    const unknownSymbol = fc.stringMatching(/^[A-Za-z0-9._:/-]{1,32}$/).filter((s) => !Object.hasOwn(INSTRUMENTS, s.toUpperCase()));
    fc.assert(
      fc.property(unknownSymbol, (symbol) => {
        const i = instrumentFor(symbol);
        expect(i).toEqual(instrumentFor(symbol));
        expect(i).toMatchObject({ symbol, class: 'equity', annualVol: 0.3, tickSize: 0.01, lotSize: 1 });
        expect(i.basePrice).toBeGreaterThanOrEqual(10);
        expect(i.basePrice).toBeLessThan(500);
        expect(isCleanMultiple(i.basePrice, 0.01)).toBe(true);
        expect(i.meanVolume).toBeGreaterThanOrEqual(1);
        expect(instrumentFor(symbol.toLowerCase()).basePrice).toBe(i.basePrice);
      }),
    );
  });

  it('spreads unknown symbols over the price range', () => {
    const bases = Array.from({ length: 200 }, (_, n) => instrumentFor(`SYM${n}`).basePrice);
    expect(new Set(bases).size).toBeGreaterThan(190);
    expect(Math.min(...bases)).toBeLessThan(60);
    expect(Math.max(...bases)).toBeGreaterThan(450);
  });

  it('does not mistake Object.prototype members for instruments', () => {
    for (const symbol of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      const i = instrumentFor(symbol);
      expect(i.class).toBe('equity');
      expect(i.basePrice).toBeGreaterThanOrEqual(10);
    }
  });
});

describe('PriceModel', () => {
  /** dt values from 0 to a day, mixed. */
  const DTS = [0, 1, 250, 1000, 1000, 60_000, 3_600_000, 86_400_000];

  it('starts at the base price and reports the last stepped price', () => {
    const model = new PriceModel(['BTCUSDT', 'ZZZ'], 1);
    expect(model.price('BTCUSDT')).toBe(65_000);
    expect(model.price('ZZZ')).toBe(instrumentFor('ZZZ').basePrice);
    const { price } = model.step('BTCUSDT', 1000);
    expect(model.price('BTCUSDT')).toBe(price);
    expect(model.price('ZZZ')).toBe(instrumentFor('ZZZ').basePrice);
  });

  it('stays finite and positive, on the tick and lot grid, over 100 000 steps for every known instrument', () => {
    for (const instrument of KNOWN) {
      const { symbol, tickSize, lotSize } = instrument;
      const model = new PriceModel([symbol], `positivity-${symbol}`);
      const [priceOk, volumeOk] = [onGrid(tickSize), onGrid(lotSize)];
      let bad = 0;
      let offGrid = 0;
      for (let i = 0; i < 100_000; i++) {
        const { price, volume } = model.step(symbol, DTS[i % DTS.length]);
        if (!Number.isFinite(price) || !(price >= tickSize) || !Number.isFinite(volume) || !(volume >= lotSize)) bad++;
        if (!priceOk(price) || !volumeOk(volume)) offGrid++;
      }
      expect({ symbol, bad, offGrid }).toEqual({ symbol, bad: 0, offGrid: 0 });
    }
  });

  it('stays finite, positive and on the grid under extreme volatility and long steps', () => {
    const scenarios: { instrument: Instrument; dt: number }[] = [
      // 2500 % a year, daily steps: the walk collapses towards zero and must stop at one tick.
      { instrument: { ...INSTRUMENTS['BTCUSDT'], symbol: 'WILD', annualVol: 25 }, dt: 86_400_000 },
      // 1000 % a year, yearly steps: moves of e^±3000 each step.
      { instrument: { ...INSTRUMENTS['EURUSD'], symbol: 'WILD', annualVol: 1000 }, dt: MS_PER_YEAR },
      // 100 000 % a year, 1 s steps: a random walk of ±18 % a step that reaches both ends of the range.
      { instrument: { ...INSTRUMENTS['XAUUSD'], symbol: 'WILD', annualVol: 1000 }, dt: 1000 },
      // Huge volatility with a tiny price and a tiny trade size.
      {
        instrument: { symbol: 'WILD', class: 'crypto', basePrice: 1e-8, annualVol: 50, tickSize: 1e-8, lotSize: 1e-8, meanVolume: 1e-8 },
        dt: 3_600_000,
      },
    ];
    for (const { instrument, dt } of scenarios) {
      const model = new PriceModel(['WILD'], 'extreme', { WILD: instrument });
      const [priceOk, volumeOk] = [onGrid(instrument.tickSize), onGrid(instrument.lotSize)];
      // The documented range: price/tickSize stays below 1e15, an integer a double holds exactly.
      const ceiling = instrument.tickSize * 1e15;
      let bad = 0;
      let offGrid = 0;
      let atFloor = 0;
      for (let i = 0; i < 100_000; i++) {
        const { price, volume } = model.step('WILD', dt);
        if (!(price >= instrument.tickSize && price <= ceiling) || !Number.isFinite(volume) || !(volume >= instrument.lotSize)) bad++;
        if (!priceOk(price) || !volumeOk(volume)) offGrid++;
        if (price === instrument.tickSize) atFloor++;
      }
      expect({ bad, offGrid }).toEqual({ bad: 0, offGrid: 0 });
      expect(atFloor).toBeGreaterThan(0); // the scenario really is extreme
    }
  });

  it('confines the walk to [tickSize, tickSize·1e15] without sticking to either end', () => {
    const tickSize = 0.01;
    const ceiling = tickSize * 1e15;
    // A base price beyond the range starts at the ceiling; the walk must stay under it, touching it often.
    const high: Instrument = { ...INSTRUMENTS['AAPL'], symbol: 'HIGH', basePrice: 1e20, annualVol: 1 };
    // Starting at the floor with ±5 % a step: a walk held at the bound comes off it again and again,
    // one whose state sank below the bound would never be seen again.
    const low: Instrument = { ...INSTRUMENTS['AAPL'], symbol: 'LOW', basePrice: tickSize, annualVol: 300 };
    const model = new PriceModel(['HIGH', 'LOW'], 'bounds', { HIGH: high, LOW: low });
    expect(model.price('HIGH')).toBe(ceiling);
    const highs = Array.from({ length: 10_000 }, () => model.step('HIGH', 1000).price);
    const lows = Array.from({ length: 100_000 }, () => model.step('LOW', 1000).price);
    expect(highs.every((p) => p <= ceiling)).toBe(true);
    expect(highs.filter((p) => p === ceiling).length).toBeGreaterThan(20);
    expect(lows.every((p) => p >= tickSize)).toBe(true);
    expect(lows.filter((p) => p === tickSize).length).toBeGreaterThan(1000);
    expect(lows.slice(50_000).filter((p) => p >= 10 * tickSize).length).toBeGreaterThan(100);
  });

  it('is deterministic by seed: same seed → same prices and volumes, different seed → different', () => {
    const symbols = ['BTCUSDT', 'EURUSD', 'AAPL', 'UNKNOWN1'];
    const run = (seed: number | string, steps: { s: number; dt: number }[]) => {
      const model = new PriceModel(symbols, seed);
      return steps.map(({ s, dt }) => model.step(symbols[s], dt));
    };
    const steps = fc.array(fc.record({ s: fc.integer({ min: 0, max: symbols.length - 1 }), dt: fc.integer({ min: 1, max: 3_600_000 }) }), {
      minLength: 1,
      maxLength: 50,
    });
    const seed = fc.oneof(fc.integer(), fc.string());
    fc.assert(
      fc.property(seed, steps, (s, st) => {
        expect(run(s, st)).toEqual(run(s, st));
      }),
    );
    fc.assert(
      fc.property(seed, seed, steps, (s1, s2, st) => {
        fc.pre(String(s1) !== String(s2));
        // Compare the unrounded-ish signal: over several 1 s steps at least one value differs.
        const long = [...st, ...Array.from({ length: 10 }, () => ({ s: 0, dt: 60_000 }))];
        expect(run(s1, long)).not.toEqual(run(s2, long));
      }),
    );
  });

  it("keeps each symbol's path independent of the other symbols in the model", () => {
    const alone = new PriceModel(['ETHUSDT'], 9);
    const crowded = new PriceModel(['AAPL', 'ETHUSDT', 'XAUUSD'], 9);
    for (let i = 0; i < 1000; i++) {
      crowded.step('AAPL', 1000);
      expect(crowded.step('ETHUSDT', 1000)).toEqual(alone.step('ETHUSDT', 1000));
    }
  });

  it('matches each instrument’s annual volatility within ±25 % (1 s steps over a simulated day)', () => {
    const ratios: { symbol: string; seed: number | string; ratio: number }[] = [];
    for (const { symbol, annualVol } of [...KNOWN, instrumentFor('NOT-IN-TABLE')]) {
      for (const seed of [1, 'vol']) {
        const model = new PriceModel([symbol], seed);
        let previous = model.price(symbol);
        let sum = 0;
        let sumSq = 0;
        const n = 86_400;
        for (let i = 0; i < n; i++) {
          const { price } = model.step(symbol, 1000);
          const r = log(price / previous);
          sum += r;
          sumSq += r * r;
          previous = price;
        }
        const variance = (sumSq - (sum * sum) / n) / (n - 1);
        ratios.push({ symbol, seed, ratio: Math.sqrt(variance * (MS_PER_YEAR / 1000)) / annualVol });
      }
    }
    expect(ratios.filter(({ ratio }) => !(ratio > 0.75 && ratio < 1.25))).toEqual([]);
  });

  it('draws volumes around meanVolume (lognormal: right-skewed, mean ≈ meanVolume)', () => {
    for (const { symbol, meanVolume } of [INSTRUMENTS['BTCUSDT'], INSTRUMENTS['AAPL'], INSTRUMENTS['EURUSD']]) {
      const model = new PriceModel([symbol], 'volume');
      const volumes = Array.from({ length: 50_000 }, () => model.step(symbol, 1000).volume);
      const mean = volumes.reduce((s, v) => s + v, 0) / volumes.length;
      const median = [...volumes].sort((a, b) => a - b)[volumes.length >> 1];
      expect(Math.abs(mean / meanVolume - 1)).toBeLessThan(0.05);
      expect(median).toBeLessThan(mean);
      expect(new Set(volumes).size).toBeGreaterThan(20);
    }
  });

  it('does not move the price when no time passes', () => {
    const model = new PriceModel(['SOLUSDT'], 3);
    model.step('SOLUSDT', 60_000);
    const before = model.price('SOLUSDT');
    for (let i = 0; i < 100; i++) expect(model.step('SOLUSDT', 0).price).toBe(before);
  });

  it('gives unknown symbols the same deterministic defaults as instrumentFor', () => {
    const a = new PriceModel(['MYCOIN'], 5);
    const b = new PriceModel(['MYCOIN'], 5);
    expect(a.price('MYCOIN')).toBe(instrumentFor('MYCOIN').basePrice);
    const pathA = Array.from({ length: 100 }, () => a.step('MYCOIN', 1000));
    const pathB = Array.from({ length: 100 }, () => b.step('MYCOIN', 1000));
    expect(pathA).toEqual(pathB);
    expect(pathA.every(({ price, volume }) => isCleanMultiple(price, 0.01) && Number.isInteger(volume) && volume >= 1)).toBe(true);
  });

  it('refuses symbols it was not built with, negative or non-finite steps and invalid instruments', () => {
    const model = new PriceModel(['AAPL'], 1);
    expect(() => model.step('MSFT', 1000)).toThrow(RangeError);
    expect(() => model.price('MSFT')).toThrow(RangeError);
    for (const dt of [-1, Number.NaN, Infinity]) expect(() => model.step('AAPL', dt)).toThrow(RangeError);
    const bad: Instrument = { ...INSTRUMENTS['AAPL'], symbol: 'BAD', tickSize: 0 };
    expect(() => new PriceModel(['BAD'], 1, { BAD: bad })).toThrow(RangeError);
  });
});
