import { validateTickItem } from './validate-tick-item';

const now = Date.now();
const good = { symbol: 'btcusdt', price: 64250.5, volume: 0.25, source: 'binance', ts: now, event_id: 'e-1' };

const limits = { maxFutureSkewMs: 5_000 };
const errorsOf = (item: unknown) => {
  const result = validateTickItem(item, limits, now);
  return 'errors' in result ? result.errors : [];
};

describe('validateTickItem (the TickDto rules)', () => {
  it('normalises a valid tick: symbol upper-case, ts epoch ms', () => {
    expect(validateTickItem({ ...good, ts: '2026-01-02T03:04:05.678Z' }, limits)).toEqual({
      tick: { ...good, symbol: 'BTCUSDT', ts: Date.UTC(2026, 0, 2, 3, 4, 5, 678) },
    });
  });

  // class-validator's own whitelist finds Object.prototype's methods by these names and let them through.
  it.each([
    'hasOwnProperty',
    'isPrototypeOf',
    'propertyIsEnumerable',
    '__defineGetter__',
    '__lookupSetter__',
    'constructor',
    'valueOf',
    'extra',
  ])('refuses an undeclared property named %s, naming it', (name) => {
    expect(errorsOf(JSON.parse(JSON.stringify({ ...good }).replace('{', `{"${name}":1,`)))).toEqual([
      { field: name, reason: `${name} is not an allowed property` },
    ]);
  });

  it.each([
    ['symbol', 'BTC/USDT:PERP-1.x_y'],
    ['volume', 0],
    ['source', 'Böhm & Söhne exchange'],
    ['event_id', '~a:b%c'],
    ['event_id', 'x'.repeat(128)],
    ['price', 1e-12],
    ['price', 1e9],
    ['volume', 1e12],
    ['ts', now + 5_000],
  ])('accepts %s = %j', (field, value) => {
    expect(errorsOf({ ...good, [field]: value })).toEqual([]);
  });

  it.each([
    ['symbol', 'BTC USDT', 'symbol must be 1–32 characters of A-Z a-z 0-9 . _ : / -'],
    ['symbol', 'A'.repeat(33), 'symbol must be 1–32 characters of A-Z a-z 0-9 . _ : / -'],
    ['symbol', "x'; DROP TABLE md_ticks;--", 'symbol must be 1–32 characters of A-Z a-z 0-9 . _ : / -'],
    ['symbol', 42, 'symbol must be a string'],
    ['price', 0, 'price must be greater than 0'],
    ['price', -1, 'price must be greater than 0'],
    ['price', '1.5', 'price must be a finite number'],
    ['price', Number.POSITIVE_INFINITY, 'price must be a finite number'],
    ['price', null, 'price must be a finite number'],
    ['price', 1e300, 'price must be at most 1000000000'],
    ['price', 5e-324, 'price must be at least 1e-12'],
    ['volume', 1e308, 'volume must be at most 1000000000000'],
    ['volume', -0.1, 'volume must be greater than or equal to 0'],
    ['volume', '2', 'volume must be a finite number'],
    ['source', '', 'source must not be empty'],
    ['source', 's'.repeat(65), 'source must be at most 64 characters'],
    ['source', 'bad\u0000source', 'source must contain printable characters only'],
    ['source', 'bell\u0007', 'source must contain printable characters only'],
    [
      'ts',
      '2026-11-24T10:15:30',
      'ts must be an ISO-8601 date-time with offset (e.g. 2026-01-02T03:04:05.678Z) or an integer of epoch milliseconds',
    ],
    [
      'ts',
      '1795482759900',
      'ts must be an ISO-8601 date-time with offset (e.g. 2026-01-02T03:04:05.678Z) or an integer of epoch milliseconds',
    ],
    ['ts', now + 0.5, 'ts must be an ISO-8601 date-time with offset (e.g. 2026-01-02T03:04:05.678Z) or an integer of epoch milliseconds'],
    [
      'ts',
      '2026-02-30T10:15:30Z',
      'ts must be an ISO-8601 date-time with offset (e.g. 2026-01-02T03:04:05.678Z) or an integer of epoch milliseconds',
    ],
    ['ts', now + 5_001, 'ts must not be more than 5000 ms ahead of the server clock (MAX_FUTURE_SKEW_MS)'],
    ['ts', Math.floor(now / 1000), 'ts must not be before 2000-01-01T00:00:00Z (is it in seconds?)'],
    ['event_id', 'has space', 'event_id must be 1–128 visible ASCII characters (no spaces)'],
    ['event_id', 'x'.repeat(129), 'event_id must be 1–128 visible ASCII characters (no spaces)'],
    ['event_id', 'é', 'event_id must be 1–128 visible ASCII characters (no spaces)'],
    ['event_id', 7, 'event_id must be a string'],
  ])('refuses %s = %j: "%s"', (field, value, reason) => {
    expect(errorsOf({ ...good, [field]: value })).toEqual([{ field, reason }]);
  });

  it('names every missing field', () => {
    expect(errorsOf({}).map((e) => e.field)).toEqual(['symbol', 'price', 'volume', 'source', 'ts', 'event_id']);
  });

  it('refuses unknown properties by name', () => {
    expect(errorsOf({ ...good, venue: 'x' })).toEqual([{ field: 'venue', reason: 'venue is not an allowed property' }]);
  });

  it.each([[null], [[good]], ['tick'], [5]])('refuses a non-object item %j', (item) => {
    expect(errorsOf(item)).toEqual([{ field: 'item', reason: 'each item must be a JSON object' }]);
  });
});

describe('validateTickItem (RETENTION_DAYS lower bound)', () => {
  const day = 86_400_000;
  const hour = 3_600_000;
  const withRetention = { maxFutureSkewMs: 5_000, retentionDays: 7 };
  const errorsAt = (ts: number, rules = withRetention) => {
    const result = validateTickItem({ ...good, ts }, rules, now);
    return 'errors' in result ? result.errors : [];
  };

  it('accepts a tick RETENTION_DAYS minus the 1 h margin old', () => {
    expect(errorsAt(now - 7 * day + hour)).toEqual([]);
  });

  it('refuses an older one, naming ts and RETENTION_DAYS', () => {
    const errors = errorsAt(now - 7 * day + hour - 1);
    expect(errors).toEqual([{ field: 'ts', reason: expect.stringContaining('RETENTION_DAYS=7') }]);
    expect(errors[0].reason).toContain(new Date(now - 7 * day + hour).toISOString());
  });

  it('has no lower bound beyond 2000-01-01 with RETENTION_DAYS=0', () => {
    expect(errorsAt(Date.UTC(2000, 0, 1), { maxFutureSkewMs: 5_000, retentionDays: 0 })).toEqual([]);
  });
});
