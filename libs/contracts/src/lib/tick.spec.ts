import { parseTickTs, TickRules, tsProblem } from './tick';

describe('parseTickTs', () => {
  it('takes integer epoch milliseconds as they are', () => {
    expect(parseTickTs(1_795_482_759_900)).toBe(1_795_482_759_900);
  });

  it.each([
    ['2026-11-24T10:15:30.123Z', Date.UTC(2026, 10, 24, 10, 15, 30, 123)],
    ['2026-11-24T10:15:30Z', Date.UTC(2026, 10, 24, 10, 15, 30)],
    ['2026-11-24T12:15:30+02:00', Date.UTC(2026, 10, 24, 10, 15, 30)],
    ['2026-11-24T05:15-05:00', Date.UTC(2026, 10, 24, 10, 15)],
  ])('reads ISO-8601 with an offset: %s', (text, expected) => {
    expect(parseTickTs(text)).toBe(expected);
  });

  it.each([
    ['a time without offset (ambiguous local time)', '2026-11-24T10:15:30'],
    ['a date only', '2026-11-24'],
    ['a numeric string', '1795482759900'],
    ['a fractional number', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an impossible month', '2026-13-05T10:15:30Z'],
    ['an impossible day (no roll-over to March)', '2026-02-30T10:15:30Z'],
    ['an impossible hour', '2026-02-03T24:15:30Z'],
    ['null', null],
    ['an object', {}],
  ])('refuses %s', (_name, value) => {
    expect(parseTickTs(value)).toBeUndefined();
  });
});

describe('tsProblem', () => {
  const now = Date.UTC(2026, 10, 24);

  it('accepts the past and up to the allowed skew ahead (default 5 s)', () => {
    expect(tsProblem(now - 86_400_000, now)).toBeUndefined();
    expect(tsProblem(now + TickRules.defaultMaxFutureSkewMs, now)).toBeUndefined();
    expect(tsProblem(now + 30_000, now, 30_000)).toBeUndefined();
  });

  it('refuses a ts further ahead than the skew, naming the skew', () => {
    expect(tsProblem(now + TickRules.defaultMaxFutureSkewMs + 1, now)).toBe('ts must not be more than 5000 ms ahead of the server clock');
    expect(tsProblem(now + 1, now, 0)).toMatch(/ahead/);
  });

  it('refuses seconds sent where milliseconds belong', () => {
    expect(tsProblem(Math.floor(now / 1000), now)).toMatch(/seconds/);
  });
});

describe('price and volume bounds', () => {
  it('keep every sum of a window finite for any realistic count of ticks', () => {
    const maxProduct = TickRules.maxPrice * TickRules.maxVolume;
    // A billion ticks in one minute, all at the largest price and volume:
    expect(Number.isFinite(1e9 * maxProduct)).toBe(true);
    expect(1e9 * maxProduct).toBeLessThan(1e300);
    expect(Number.isFinite((100 * TickRules.maxPrice) / TickRules.minPrice)).toBe(true);
  });
});
