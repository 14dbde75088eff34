import fc from 'fast-check';
import { TickRules } from '@md/contracts';
import { declaredProperties } from '@md/platform';
import { validateTickItem, validateTickItemByDto, type TickLimits } from '../validate-tick-item';
import { acceptTickFast, TICK_KEYS, TickDto } from './tick.dto';

const now = Date.UTC(2026, 10, 24, 10, 15, 30, 123);
const RUNS = 10_000;
const limits: TickLimits = { maxFutureSkewMs: 5_000, retentionDays: 30 };

/** Deep equality with Object.is on every leaf: -0 and 0 differ, as they would in the tick the queue carries. */
function sameResult(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  return keysA.every(
    (key) => Object.hasOwn(b, key) && sameResult((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

const anyJson = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.string(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);
/** Strings a client might send by mistake or on purpose: numeric, NaN-like, unicode, controls, lone surrogates. */
const oddString = fc.oneof(
  fc.constantFrom('', ' ', 'NaN', 'Infinity', '-0', '0', '1.5', '1e9', '0x10', '1795482759900', 'null', 'true', 'ſol', 'ﬀ', 'ß', 'ı', 'K'),
  fc.string({ unit: 'binary', maxLength: 70 }),
  fc.string({ unit: 'grapheme', maxLength: 70 }),
  fc.string({
    unit: fc.constantFrom('a', 'Z', '9', '.', '_', ':', '/', '-', ' ', '\u0000', '\u007f', '\u200b', '\ud800', 'é'),
    maxLength: 140,
  }),
);
const oddNumber = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    NaN,
    Infinity,
    -Infinity,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1,
    -1,
    1e21,
    1e308,
  ),
  fc.double(),
  fc.integer(),
);
/** The values just inside and just outside each bound. */
const around = (bound: number) => fc.constantFrom(bound, bound * (1 + Number.EPSILON), bound * (1 - Number.EPSILON), bound + 1, bound - 1);

const symbol = fc.oneof(
  fc.stringMatching(TickRules.symbolPattern),
  fc.string({ unit: fc.constantFrom('a', 'B', '0', '.', '_', ':', '/', '-'), minLength: 31, maxLength: 34 }),
  oddString,
);
const price = fc.oneof(
  fc.double({ min: TickRules.minPrice, max: TickRules.maxPrice, noNaN: true }),
  around(TickRules.minPrice),
  around(TickRules.maxPrice),
  oddNumber,
  oddString,
);
const volume = fc.oneof(
  fc.constant(0),
  fc.double({ min: TickRules.minVolume, max: TickRules.maxVolume, noNaN: true }),
  around(TickRules.minVolume),
  around(TickRules.maxVolume),
  oddNumber,
  oddString,
);
const source = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 }),
  fc.string({ unit: 'binary', minLength: 60, maxLength: 66 }),
  fc.string({ unit: fc.constantFrom('x', 'é', '😀'), minLength: 30, maxLength: 66 }),
  oddString,
);
const iso = fc
  .tuple(
    fc.date({ min: new Date(Date.UTC(1999, 11, 31)), max: new Date(now + 10_000), noInvalidDate: true }),
    fc.constantFrom('Z', '+00:00', '+0530', '-08:00', '', '+25:00'),
    fc.constantFrom(0, 3, 6, 9),
  )
  .map(([date, offset, digits]) => {
    const base = date.toISOString().slice(0, 19);
    const fraction = digits > 0 ? `.${String(date.getUTCMilliseconds()).padStart(3, '0').padEnd(digits, '7')}` : '';
    return `${base}${fraction}${offset}`;
  });
const ts = fc.oneof(
  fc.integer({ min: TickRules.minTs - 1_000, max: now + 10_000 }),
  around(TickRules.minTs),
  fc.constantFrom(now + 5_000, now + 5_001, now - 30 * 86_400_000 + 3_600_000, now - 30 * 86_400_000 + 3_599_999, now + 0.5),
  iso,
  fc.constantFrom('2026-02-30T10:15:30Z', '2026-11-24T24:00:00Z', '2026-11-24T10:15:60Z', '2026-11-24T10:15Z', `${now}`),
  oddNumber,
  oddString,
);
const eventId = fc.oneof(
  fc.stringMatching(TickRules.eventIdPattern),
  fc.string({ unit: fc.constantFrom('a', '~', '!', ' ', 'é', '\u007f'), minLength: 0, maxLength: 130 }),
  fc.string({ unit: fc.constantFrom('x'), minLength: 127, maxLength: 129 }),
  oddString,
);
const fields = { symbol, price, volume, source, ts, event_id: eventId };
const extraKey = fc.constantFrom(
  'hasOwnProperty',
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'isPrototypeOf',
  'extra',
  'Symbol',
  'event-id',
);

/** Mostly valid ticks with one or two fields (or keys) changed, so both paths are exercised on every field. */
const item = fc
  .tuple(
    fc.record(fields, { requiredKeys: [] }),
    fc.record({ symbol: fc.stringMatching(TickRules.symbolPattern), price: fc.double({ min: 1, max: 1e6, noNaN: true }) }),
    fc.subarray([...TICK_KEYS], { maxLength: 2 }),
    fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, fc.array(fc.tuple(extraKey, anyJson), { minLength: 1, maxLength: 2 })),
    fc.oneof({ weight: 9, arbitrary: fc.constant('plain') }, fc.constantFrom('null-prototype', 'class', 'array')),
  )
  .map(([random, valid, randomised, extras, shape]) => {
    const base: Record<string, unknown> = {
      ...valid,
      volume: 0.5,
      source: 'binance',
      ts: now - 60_000,
      event_id: 'e-1',
    };
    for (const key of randomised) {
      if (key in random) base[key] = random[key];
      else delete base[key];
    }
    // Object.fromEntries defines own properties, `__proto__` included, as JSON.parse does.
    const plain = Object.fromEntries([...Object.entries(base), ...extras]);
    if (shape === 'null-prototype') return Object.assign(Object.create(null), plain);
    if (shape === 'class') return Object.assign(new (class Tick {})(), plain);
    if (shape === 'array') return Object.assign([], plain);
    return plain;
  });

describe('acceptTickFast (the fast path of validateTickItem)', () => {
  it('knows exactly the properties TickDto declares', () => {
    expect([...declaredProperties(TickDto)].sort()).toEqual([...TICK_KEYS].sort());
  });

  it('accepts only what the DTO accepts, as the same tick; the answer is the DTO path’s for every item', () => {
    let fastAccepted = 0;
    let dtoAccepted = 0;
    fc.assert(
      fc.property(item, (candidate) => {
        const reference = validateTickItemByDto(candidate, limits, now);
        const fast = acceptTickFast(candidate);
        if ('tick' in reference) dtoAccepted++;
        if (fast) {
          fastAccepted++;
          // Whenever the fast path vouches, the DTO accepts the same tick (the future skew and retention aside).
          const dtoOnly = validateTickItemByDto(candidate, { maxFutureSkewMs: Infinity }, now);
          expect('tick' in dtoOnly && sameResult(dtoOnly.tick, fast)).toBe(true);
        }
        const result = validateTickItem(candidate, limits, now);
        expect(sameResult(result, reference)).toBe(true);
      }),
      { numRuns: RUNS, seed: 17 },
    );
    // The generator must reach both sides, or the property proves little.
    expect(fastAccepted).toBeGreaterThan(RUNS / 5);
    expect(dtoAccepted - fastAccepted).toBeLessThan(fastAccepted);
    expect(RUNS - dtoAccepted).toBeGreaterThan(RUNS / 4);
  });

  it.each([
    ['-0 volume', { volume: -0 }],
    ['ISO ts with offset', { ts: '2026-11-24T11:15:30.123+01:00' }],
    ['lower-case symbol', { symbol: 'btc/usdt:perp' }],
    ['64-character unicode source', { source: 'é'.repeat(64) }],
    ['128-character event_id', { event_id: '~'.repeat(128) }],
    ['bounds', { price: TickRules.minPrice, volume: TickRules.maxVolume }],
  ])('takes the fast path for a valid tick (%s) and returns the DTO’s tick', (_name, change) => {
    const candidate = { symbol: 'btcusdt', price: 1, volume: 1, source: 'binance', ts: now, event_id: 'e-1', ...change };
    const fast = acceptTickFast(candidate);
    expect(fast).toBeDefined();
    const reference = validateTickItemByDto(candidate, limits, now);
    expect('tick' in reference && sameResult(reference.tick, fast)).toBe(true);
  });

  it.each([
    ['a symbol the DTO upper-cases into its alphabet', { symbol: 'ſol' }],
    ['an own hasOwnProperty', JSON.parse('{"hasOwnProperty":1}')],
    ['an own __proto__', JSON.parse('{"__proto__":{}}')],
    ['a numeric string price', { price: '1.5' }],
    ['ts in seconds', { ts: Math.floor(now / 1000) }],
  ])('leaves %s to the DTO', (_name, change) => {
    const candidate = { symbol: 'btcusdt', price: 1, volume: 1, source: 'binance', ts: now, event_id: 'e-1', ...change };
    expect(acceptTickFast(candidate)).toBeUndefined();
  });
});
