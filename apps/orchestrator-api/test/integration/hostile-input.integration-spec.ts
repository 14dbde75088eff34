import { Redis } from 'ioredis';
import fc from 'fast-check';
import {
  basic,
  createDatabase,
  get,
  INTERNAL_TOKEN,
  listen,
  post,
  queueOf,
  REDIS_URL,
  startApi,
  tick,
  type RunningApi,
} from '../support/harness';

const API_KEY = 'hostile-input-api-key-0123';

/** Values that are not a valid value of the field they replace (by type, range or pattern). */
const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.object({ maxDepth: 2 }),
);
const badNumber = fc.oneof(
  fc.constantFrom(0, -1, -1e-9, -Number.MAX_VALUE, null, '1', '', true, [], {}, '1e309', 'NaN', 'Infinity'),
  fc.double({ max: -Number.MIN_VALUE, noNaN: true }),
  fc.string({ maxLength: 8 }),
);
const hostileText = fc.constantFrom(
  "'; DROP TABLE md_ticks; --",
  'BTC USDT',
  'btc\u0000usdt',
  'BTC*',
  'md:{views}',
  '__proto__',
  'constructor',
  '\u202eRTL',
  'é'.repeat(40),
  '\ud800',
  'x'.repeat(1_000),
  '',
  '\n',
  '../../etc/passwd',
  '%00',
  '${jndi:ldap://x}',
);
// `__proto__` and `constructor` are valid symbols (stored upper-cased, as hash fields, never as object keys).
const badSymbol = fc.oneof(
  notAString,
  hostileText.filter((s) => !/^[A-Za-z0-9._:/-]{1,32}$/.test(s)),
  fc.string({ minLength: 33, maxLength: 60 }),
);
const badEventId = fc.oneof(
  notAString,
  hostileText.filter((s) => !/^[\x21-\x7E]{1,128}$/.test(s)),
  fc.string({ minLength: 129, maxLength: 200 }),
);
const badSource = fc.oneof(notAString, fc.constantFrom('', 'a'.repeat(65), 'tab\there', 'nul\u0000'));
const badTs = fc.oneof(
  notAString.filter((v) => typeof v !== 'number'),
  fc.constantFrom(
    '2024-01-01T00:00:00',
    'yesterday',
    '2024-02-30T00:00:00Z',
    1.5,
    -1,
    0,
    946684799999,
    Date.now() + 3_600_000,
    1e20,
    '1e309',
  ),
);
const invalidTick = fc.oneof(
  badSymbol.map((symbol) => tick({ symbol })),
  badNumber.map((price) => tick({ price })),
  badNumber.filter((v) => v !== 0).map((volume) => tick({ volume })),
  badSource.map((source) => tick({ source })),
  badTs.map((ts) => tick({ ts })),
  badEventId.map((event_id) => tick({ event_id })),
  fc.constantFrom('symbol', 'price', 'volume', 'source', 'ts', 'event_id').map((field) => {
    const t: Record<string, unknown> = tick();
    delete t[field];
    return t;
  }),
  fc
    .string({ minLength: 1, maxLength: 10 })
    .filter((k) => !['symbol', 'price', 'volume', 'source', 'ts', 'event_id'].includes(k))
    .map((extra) => ({ ...tick(), [extra]: 1 })),
  fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.anything(), { maxLength: 3 })),
);

/** Raw bodies a JSON parser must survive: poisoning, depth, size, encodings. */
const ATTACKS: { name: string; body: string; contentType?: string }[] = [
  { name: '__proto__ key', body: JSON.stringify(tick()).replace('{', '{"__proto__":{"polluted":"yes"},') },
  { name: 'constructor.prototype key', body: JSON.stringify(tick()).replace('{', '{"constructor":{"prototype":{"polluted":"yes"}},') },
  { name: 'deeply nested arrays', body: `${'['.repeat(50_000)}${']'.repeat(50_000)}` },
  { name: 'deeply nested objects', body: `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}` },
  // Within every body limit; class-transformer's recursive copy overflowed the stack on it (500).
  { name: 'an item holding deeply nested objects', body: `[${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}]` },
  {
    name: 'a view holding deeply nested objects',
    body: `{"symbol":"BTCUSDT","ts":1,"view":${'{"a":'.repeat(3_000)}1${'}'.repeat(3_000)}}`,
  },
  { name: '10 MB body', body: JSON.stringify({ ...tick(), source: 'x'.repeat(10 * 1024 * 1024) }) },
  { name: 'truncated JSON', body: JSON.stringify(tick()).slice(0, -3) },
  { name: 'text/plain', body: JSON.stringify(tick()), contentType: 'text/plain' },
  { name: 'form encoding', body: 'symbol=BTCUSDT&price=1', contentType: 'application/x-www-form-urlencoded' },
  { name: 'a JSON string, not an object', body: JSON.stringify(JSON.stringify(tick())) },
  { name: 'a batch of 1,001 ticks', body: JSON.stringify(Array.from({ length: 1_001 }, () => tick())) },
  { name: 'number 1e309', body: JSON.stringify(tick()).replace(/"price":[^,]+/, '"price":1e309') },
  { name: 'empty body', body: '' },
];

describe('hostile input: only 4xx, nothing enqueued, published or stored, Object.prototype untouched', () => {
  let api: RunningApi;
  let redis: Redis;
  let channel: Awaited<ReturnType<typeof listen>>;
  // A database of its own: a well-formed symbol's history is read from PostgreSQL (the api
  // migrates it on the first read), so the answer must not depend on what else the server holds.
  let db: Awaited<ReturnType<typeof createDatabase>>;

  beforeAll(async () => {
    db = await createDatabase();
    api = await startApi({ API_KEY, PG_URL: db.url });
    redis = new Redis(REDIS_URL);
    channel = await listen(REDIS_URL, api.env.PUBSUB_CHANNEL);
  });

  afterAll(async () => {
    await channel.close();
    redis.disconnect();
    await api.close();
    await db.drop();
  });

  /** Nothing of this api's prefix exists in Redis and nothing was published. */
  async function nothingStored(): Promise<void> {
    const queue = queueOf(api);
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized');
    await queue.close();
    expect(Object.values(counts).filter((n) => n > 0)).toEqual([]);
    expect(await redis.exists(`${api.env.REDIS_PREFIX}:buffer:ticks`)).toBe(0);
    expect(await redis.keys(`${api.env.REDIS_PREFIX}:dedupe:*`)).toEqual([]);
    expect(await redis.hlen(`${api.env.REDIS_PREFIX}:views`)).toBe(0);
    expect(channel.messages).toEqual([]);
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }

  const is4xx = (status: number) => status >= 400 && status < 500;

  it('POST /ingest/tick and /ingest/ticks refuse generated malformed ticks with 4xx naming a field', async () => {
    await fc.assert(
      fc.asyncProperty(invalidTick, async (body) => {
        const single = await post(`${api.url}/ingest/tick`, body);
        expect({ body, status: single.status }).toEqual({ body, status: 400 });
        expect(single.body.errors?.length).toBeGreaterThan(0);
        const batch = await post(`${api.url}/ingest/ticks`, [body, body]);
        expect(is4xx(batch.status)).toBe(true);
      }),
      { numRuns: 150 },
    );
    await nothingStored();
  });

  it.each(ATTACKS)('POST /ingest/tick survives: $name', async ({ body, contentType }) => {
    for (const path of ['/ingest/tick', '/ingest/ticks', '/internal/agg-update']) {
      const base = path.startsWith('/internal') ? api.internalUrl : api.url;
      const answer = await post(`${base}${path}`, undefined, { raw: body, contentType, headers: { 'x-internal-token': INTERNAL_TOKEN } });
      expect({ path, status: answer.status, is4xx: is4xx(answer.status) }).toMatchObject({ path, is4xx: true });
      expect(JSON.stringify(answer.body)).not.toMatch(/\bat .+\(.+:\d+:\d+\)/);
    }
    // The api is still up and answers normally.
    expect((await get(`${api.url}/health/liveness`)).status).toBe(200);
    await nothingStored();
  });

  it('POST /internal/agg-update refuses generated malformed views with 4xx', async () => {
    const badView = fc.oneof(
      fc.anything(),
      fc.record({ symbol: badSymbol, view: fc.anything(), ts: fc.anything() }),
      fc.record({
        symbol: fc.constant('BTCUSDT'),
        view: fc.record({ symbol: fc.constant('BTCUSDT'), tickCount: badNumber }),
        ts: fc.constant(Date.now()),
      }),
    );
    await fc.assert(
      fc.asyncProperty(badView, async (body) => {
        const answer = await post(`${api.internalUrl}/internal/agg-update`, body, {
          auth: null,
          headers: { 'x-internal-token': INTERNAL_TOKEN },
        });
        expect({ body, status: answer.status, ok: is4xx(answer.status) }).toMatchObject({ ok: true });
      }),
      { numRuns: 100 },
    );
    await nothingStored();
  });

  it('the read API refuses absurd ids, limits and intervals with 4xx', async () => {
    // (A lone surrogate cannot be put in a URL at all: the client refuses it before sending.)
    const id = fc
      .oneof(hostileText, fc.string({ maxLength: 40 }), fc.constantFrom('%2e%2e%2f', '%00', 'a%ZZ', '..', '.'))
      .filter((s) => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')));
    const limit = fc.oneof(
      fc.constantFrom('-1', '0', '1e309', 'NaN', '99999999999999999999', '1.5', '', 'abc', '5001', '[]'),
      fc.string({ maxLength: 6 }),
    );
    const interval = fc.oneof(fc.constantFrom('0s', '1x', '', '1m;DROP', '-1m'), fc.string({ maxLength: 4 }));
    await fc.assert(
      fc.asyncProperty(id, limit, interval, async (symbol, n, i) => {
        const headers = { 'x-api-key': API_KEY };
        const path = encodeURIComponent(symbol);
        for (const url of [
          `/symbols/${path}`,
          `/symbols/${path}/history?limit=${encodeURIComponent(n)}`,
          `/symbols/BTCUSDT/candles?interval=${encodeURIComponent(i)}&limit=${encodeURIComponent(n)}`,
        ]) {
          const answer = await get(`${api.url}${url}`, headers);
          // 404 for a well-formed symbol with no view; 503 never (PostgreSQL is not asked for a bad query).
          const ok = is4xx(answer.status) || answer.status === 200;
          expect({ url, status: answer.status, body: ok ? undefined : answer.body, ok }).toEqual({
            url,
            status: answer.status,
            body: undefined,
            ok: true,
          });
        }
      }),
      // Always also a well-formed symbol, whose reads reach PostgreSQL (CI once found "-" by chance).
      { numRuns: 100, examples: [['-', '1', '']] },
    );
  });

  describe('auth matrix: always the same 401, no stack trace', () => {
    const once = async (url: string, headers: Record<string, string>, body?: unknown) =>
      body === undefined ? get(url, headers) : post(url, body, { auth: null, headers });

    it.each([
      [
        'Basic Auth on /ingest/tick',
        '/ingest/tick',
        'authorization',
        [
          undefined,
          '',
          'Basic',
          'Basic !!!',
          'Bearer abc',
          basic('nobody', 'integration-secret'),
          basic('feeder', 'wrong'),
          basic('feeder', 'integration-secre'),
          basic('feeder', 'integration-secrett'),
          basic('feeder', ''),
          basic('', ''),
        ],
      ],
      [
        'x-api-key on /symbols',
        '/symbols',
        'x-api-key',
        [undefined, '', 'x', API_KEY.slice(0, -1), `${API_KEY}x`, API_KEY.toUpperCase(), `${API_KEY.slice(0, 8)} ${API_KEY.slice(8)}`],
      ],
      [
        'x-internal-token on /internal/agg-update',
        '/internal/agg-update',
        'x-internal-token',
        [undefined, '', INTERNAL_TOKEN.slice(1), `${INTERNAL_TOKEN}x`, 'integration-internal-tokeN', 'integration internal-token'],
      ],
    ] as const)('%s', async (_name, path, header, values) => {
      const bodies = new Set<string>();
      for (const value of values) {
        const headers = value === undefined ? {} : { [header]: value };
        const base = path.startsWith('/internal') ? api.internalUrl : api.url;
        const answer = await once(`${base}${path}`, headers, path === '/symbols' ? undefined : tick());
        expect({ value, status: answer.status }).toEqual({ value, status: 401 });
        bodies.add(JSON.stringify(answer.body));
        expect(JSON.stringify(answer.body)).not.toMatch(/stack|\.ts:\d+/);
      }
      expect(bodies.size).toBe(1);
    });
  });
});

describe('read API rate limit and security headers', () => {
  let api: RunningApi;

  beforeAll(async () => {
    api = await startApi({ API_KEY, READ_RATE_LIMIT_PER_MIN: '3' });
  });

  afterAll(() => api.close());

  it('answers 429 with Retry-After past READ_RATE_LIMIT_PER_MIN, counting each key (or address) apart', async () => {
    const headers = { 'x-api-key': API_KEY };
    for (let i = 0; i < 3; i += 1) expect((await get(`${api.url}/symbols`, headers)).status).toBe(200);
    const limited = await get(`${api.url}/symbols`, headers);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body).toMatchObject({ statusCode: 429 });
    // A caller without the key counts against its address, not the key: it gets its 401.
    expect((await get(`${api.url}/symbols`)).status).toBe(401);
    // Ingest is not rate limited by this (the feeder's rate is the api's job to absorb).
    expect((await post(`${api.url}/ingest/tick`, tick())).status).toBe(200);
  });

  it('sends helmet security headers', async () => {
    const answer = await get(`${api.url}/health/liveness`);
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('strict-transport-security')).toMatch(/max-age/);
    expect(answer.headers.get('x-powered-by')).toBeNull();
  });
});
