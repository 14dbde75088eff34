import fc from 'fast-check';
import { LAST_N, TickRules } from '@md/contracts';
import { declaredProperties, FieldsException, MAX_NESTING } from '@md/platform';
import { SYMBOL_VIEW_KEYS, SymbolViewDto } from '../../symbols/dto/symbol-view.dto';
import { readAggUpdate, readAggUpdateByDto, readAggUpdates } from '../agg-updates';
import * as aggUpdateDto from './agg-update.dto';
import { acceptAggUpdateFast, AGG_UPDATE_KEYS, AggUpdateDto } from './agg-update.dto';

const now = Date.UTC(2026, 10, 24, 10, 15, 30, 123);
const RUNS = 10_000;

/**
 * Deep equality that also holds the prototypes (the DTO classes) and the key order (the view is
 * stored and published as its JSON.stringify) to account, with Object.is on every leaf.
 */
function sameResult(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const keysA = Reflect.ownKeys(a);
  const keysB = Reflect.ownKeys(b);
  return (
    keysA.length === keysB.length &&
    keysA.every(
      (key, i) => key === keysB[i] && sameResult((a as Record<PropertyKey, unknown>)[key], (b as Record<PropertyKey, unknown>)[key]),
    )
  );
}

/** An object nested `depth` levels deep: past MAX_NESTING, the guard's answer, not class-transformer's. */
const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};
const anyJson = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.string(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
  fc.constant(nested(MAX_NESTING + 2)),
);
const oddString = fc.oneof(
  fc.constantFrom('', ' ', 'NaN', 'Infinity', '-0', '0', '1.5', '1e9', 'null', 'ſol', 'ß', 'ı', 'K', 'btc', 'BTC'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('a', 'Z', '9', '.', '_', ':', '/', '-', ' ', '\u0000', '\ud800', 'é'), maxLength: 34 }),
);
const oddNumber = fc.oneof(
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, -1, 1.5, 1e21),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Number.MAX_SAFE_INTEGER + 2, 2 ** 64),
  fc.double(),
  fc.integer(),
);
/** A value any field might be given instead of its own: undefined stands for a missing key. */
const oddValue = fc.oneof(oddNumber, oddString, anyJson, fc.constant(undefined));

const validPrice = fc.double({ min: TickRules.minPrice, max: TickRules.maxPrice, noNaN: true });
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const epochMs = fc.integer({ min: TickRules.minTs, max: now });
/** A view as calc-b's buildView makes one (any valid values, not only consistent ones). */
const validView = fc.record({
  symbol: fc.stringMatching(TickRules.symbolPattern),
  price: validPrice,
  ts: epochMs,
  source: fc.string({ maxLength: 64 }),
  eventId: fc.string({ maxLength: 128 }),
  tickCount: fc.oneof(fc.integer({ min: 1, max: 1e6 }), fc.constantFrom(1, Number.MAX_SAFE_INTEGER)),
  last10: fc.array(validPrice, { maxLength: LAST_N }),
  sma10: finite,
  volume1m: fc.oneof(fc.double({ min: 0, max: 1e12, noNaN: true }), fc.constantFrom(0, -0)),
  vwap1m: fc.option(validPrice, { nil: null }),
  high1m: validPrice,
  low1m: validPrice,
  open1m: validPrice,
  change1m: finite,
  changePct1m: finite,
  updatedAt: epochMs,
});
type ViewKey = (typeof SYMBOL_VIEW_KEYS)[number];
const integerEdge = fc.constantFrom(0, -0, 1.5, -1, 1e21, Number.MAX_SAFE_INTEGER + 2, '1');
/** Per view field, the values just inside and outside its rules. */
const viewEdges: Record<ViewKey, fc.Arbitrary<unknown>> = {
  symbol: fc.oneof(oddString, fc.string({ unit: fc.constantFrom('a', 'B', '0', '.', '_', ':', '/', '-'), minLength: 31, maxLength: 34 })),
  price: fc.constantFrom(0, -0, Number.MIN_VALUE, -1, Number.MAX_VALUE, Infinity, NaN, '1'),
  ts: integerEdge,
  source: fc.oneof(oddString, fc.constant(['x'])),
  eventId: fc.oneof(oddString, fc.constant(null)),
  tickCount: fc.constantFrom(0, -0, 1, 0.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Number.MAX_SAFE_INTEGER + 2, '1'),
  last10: fc.oneof(
    fc.array(fc.oneof(validPrice, oddNumber, oddString, anyJson), { maxLength: LAST_N + 2 }),
    fc.array(validPrice, { minLength: LAST_N, maxLength: LAST_N + 1 }),
    // A hole: the DTO drops it (class-transformer's forEach), the fast path leaves it to the DTO.
    fc.constant(Object.assign(new Array<number>(3), { 0: 1, 2: 2 })),
    fc.constant({ 0: 1, length: 1 }),
  ),
  sma10: oddNumber,
  volume1m: fc.constantFrom(0, -0, -Number.MIN_VALUE, -1, Infinity),
  vwap1m: fc.constantFrom(null, undefined, NaN, '1', 0),
  high1m: oddNumber,
  low1m: oddNumber,
  open1m: oddNumber,
  change1m: oddNumber,
  changePct1m: oddNumber,
  updatedAt: integerEdge,
};
const extraKey = fc.constantFrom('hasOwnProperty', '__proto__', 'constructor', 'toString', 'valueOf', 'extra', 'Symbol', 'event_id');
const extras = fc.oneof({ weight: 12, arbitrary: fc.constant([]) }, fc.array(fc.tuple(extraKey, anyJson), { minLength: 1, maxLength: 2 }));
const shape = fc.oneof({ weight: 30, arbitrary: fc.constant('plain') }, fc.constantFrom('null-prototype', 'class', 'array'));

/**
 * `entries` (undefined: left out) as own properties, as JSON.parse defines them (`__proto__`
 * included, never the prototype), on an object of the given shape.
 */
function objectOf(entries: [string, unknown][], as: string): unknown {
  const target: object = as === 'null-prototype' ? Object.create(null) : as === 'class' ? new (class View {})() : as === 'array' ? [] : {};
  for (const [key, value] of entries) {
    if (value !== undefined) Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return target;
}

/** Mostly valid views with one or two fields changed, keys in any order, sometimes extra keys or another shape. */
const view = fc
  .tuple(
    validView,
    fc.shuffledSubarray([...SYMBOL_VIEW_KEYS], { minLength: SYMBOL_VIEW_KEYS.length }),
    fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, fc.subarray([...SYMBOL_VIEW_KEYS], { minLength: 1, maxLength: 2 })),
    fc.record(
      Object.fromEntries(SYMBOL_VIEW_KEYS.map((key) => [key, fc.oneof(viewEdges[key], oddValue)])) as Record<
        ViewKey,
        fc.Arbitrary<unknown>
      >,
    ),
    extras,
    shape,
  )
  .map(([valid, order, changed, odd, extra, as]) => {
    const fields: Record<string, unknown> = { ...valid };
    for (const key of changed) fields[key] = odd[key];
    return objectOf([...order.map((key): [string, unknown] => [key, fields[key]]), ...extra], as);
  });

/** Updates around a view: the symbol as the view's (any case), another, or odd; receivedAt absent, an integer or odd. */
const item = fc
  .tuple(
    view,
    fc.oneof({ weight: 4, arbitrary: fc.constant('same' as const) }, fc.constantFrom('lower', 'upper', 'other', 'odd')),
    oddString,
    fc.oneof({ weight: 16, arbitrary: epochMs }, integerEdge, oddValue),
    fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 6, arbitrary: epochMs }, integerEdge, oddValue),
    fc.shuffledSubarray([...AGG_UPDATE_KEYS], { minLength: AGG_UPDATE_KEYS.length }),
    extras,
    shape,
    fc.oneof({ weight: 20, arbitrary: fc.constant(false) }, fc.constant(true)),
  )
  .map(([v, symbolIs, odd, ts, receivedAt, order, extra, as, anything]) => {
    const viewSymbol = v !== null && typeof v === 'object' ? (v as { symbol?: unknown }).symbol : undefined;
    const text = typeof viewSymbol === 'string' ? viewSymbol : 'BTCUSDT';
    const symbol = { same: text, lower: text.toLowerCase(), upper: text.toUpperCase(), other: `${text}X`, odd }[symbolIs];
    const fields: Record<string, unknown> = { symbol, view: v, ts, receivedAt };
    return anything ? odd : objectOf([...order.map((key): [string, unknown] => [key, fields[key]]), ...extra], as);
  });

/** readAggUpdates' answer: its updates, or the status and errors of its refusal (what the error filter writes). */
function outcome(body: unknown): unknown {
  try {
    return readAggUpdates(body);
  } catch (error) {
    if (!(error instanceof FieldsException)) throw error;
    return { status: error.getStatus(), message: error.message, errors: error.errors };
  }
}

describe('acceptAggUpdateFast (the fast path of readAggUpdates)', () => {
  it.each([
    ['AggUpdateDto', AggUpdateDto, AGG_UPDATE_KEYS],
    ['SymbolViewDto', SymbolViewDto, SYMBOL_VIEW_KEYS],
  ] as const)('knows exactly the properties %s declares', (_name, target, keys) => {
    expect([...declaredProperties(target)].sort()).toEqual([...keys].sort());
  });

  it('accepts only what the DTO accepts, as the same instances; the answer is the DTO path’s for every item', () => {
    let fastAccepted = 0;
    let dtoAccepted = 0;
    fc.assert(
      fc.property(item, fc.constantFrom('', '[0]', '[199]'), (candidate, parent) => {
        const reference = readAggUpdateByDto(candidate, parent);
        const fast = acceptAggUpdateFast(candidate);
        if (reference.errors.length === 0) dtoAccepted++;
        if (fast) {
          fastAccepted++;
          expect(reference.errors).toEqual([]);
          expect(sameResult(fast, reference.dto)).toBe(true);
          // What the api stores and publishes.
          expect(JSON.stringify(fast.view)).toBe(JSON.stringify(reference.dto?.view));
        }
        expect(sameResult(readAggUpdate(candidate, parent), reference)).toBe(true);
      }),
      { numRuns: RUNS, seed: 17 },
    );
    // The generator must reach both sides, or the property proves little.
    expect(fastAccepted).toBeGreaterThan(RUNS / 5);
    expect(dtoAccepted - fastAccepted).toBeLessThan(fastAccepted);
    expect(RUNS - dtoAccepted).toBeGreaterThan(RUNS / 4);
  });

  it('leaves readAggUpdates’ answer to every body as the DTO path gives it', () => {
    const body = fc.oneof(
      { weight: 3, arbitrary: item },
      { weight: 6, arbitrary: fc.array(item, { minLength: 1, maxLength: 4 }) },
      fc.array(
        validView.map((v) => ({ symbol: v.symbol, view: v, ts: now })),
        { minLength: 199, maxLength: 201 },
      ),
      fc.constantFrom([], null, 'x', 1),
    );
    const bodies = fc.sample(body, { numRuns: 1_000, seed: 17 });
    const fastAnswers = bodies.map(outcome);
    const byDto = jest.spyOn(aggUpdateDto, 'acceptAggUpdateFast').mockReturnValue(undefined);
    try {
      bodies.forEach((candidate, i) => expect(sameResult(fastAnswers[i], outcome(candidate))).toBe(true));
      expect(byDto).toHaveBeenCalled();
    } finally {
      byDto.mockRestore();
    }
  });

  it.each([
    ['lower-case symbols', { symbol: 'btc/usdt:perp' }, { symbol: 'BTC/usdt:PERP' }],
    ['null vwap1m, empty last10', {}, { vwap1m: null, last10: [], volume1m: 0 }],
    ['-0 volume1m', {}, { volume1m: -0 }],
    ['receivedAt', { receivedAt: now - 5 }, {}],
    ['bounds', {}, { tickCount: Number.MAX_SAFE_INTEGER, price: Number.MIN_VALUE, source: '', eventId: '' }],
  ])('takes the fast path for a valid update (%s) and returns the DTO’s instances', (_name, change, viewChange) => {
    const candidate = { symbol: 'BTCUSDT', view: { ...calcBView(), symbol: 'btcusdt', ...viewChange }, ts: now, ...change };
    const fast = acceptAggUpdateFast(candidate);
    expect(fast).toBeInstanceOf(AggUpdateDto);
    expect(fast?.view).toBeInstanceOf(SymbolViewDto);
    const reference = readAggUpdateByDto(candidate, '');
    expect(reference.errors).toEqual([]);
    expect(sameResult(fast, reference.dto)).toBe(true);
  });

  it.each([
    ['a view of another symbol', { symbol: 'ETHUSDT' }, {}],
    ['a null receivedAt (which the DTO takes)', { receivedAt: null }, {}],
    ['a symbol the DTO upper-cases into its alphabet', { symbol: 'ſol' }, { symbol: 'SOL' }],
    ['an own hasOwnProperty', JSON.parse('{"hasOwnProperty":1}'), {}],
    ['an own __proto__ in the view', {}, JSON.parse('{"__proto__":{}}')],
    ['eleven prices', {}, { last10: Array.from({ length: LAST_N + 1 }, () => 1) }],
    ['a view nested past MAX_NESTING', {}, { last10: [nested(MAX_NESTING + 1)] }],
  ])('leaves %s to the DTO', (_name, change, viewChange) => {
    const candidate = { symbol: 'BTCUSDT', view: { ...calcBView(), ...viewChange }, ts: now, ...change };
    expect(acceptAggUpdateFast(candidate)).toBeUndefined();
  });
});

/** A view as calc-b posts it (buildView's key order). */
function calcBView() {
  return {
    symbol: 'BTCUSDT',
    price: 64250.5,
    ts: now - 10,
    source: 'binance',
    eventId: '0193c9a2-7b1e-7cc3-9f1e-2b7d1c9e4a10',
    tickCount: 1234,
    last10: [64250, 64251, 64249.5, 64250.25, 64252, 64250.5, 64248, 64250, 64251.75, 64250.5],
    sma10: 64250.35,
    volume1m: 12.5,
    vwap1m: 64250.1,
    high1m: 64260,
    low1m: 64240,
    open1m: 64245,
    change1m: 5.5,
    changePct1m: 0.0085,
    updatedAt: now,
  };
}
