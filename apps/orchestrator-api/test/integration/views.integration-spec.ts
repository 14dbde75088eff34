import { Redis } from 'ioredis';
import { AGG_UPDATES_MAX, AGG_UPDATES_MAX_BYTES, type SymbolView } from '@md/contracts';
import { dropKeys, get, INTERNAL_TOKEN, listen, post, REDIS_URL, startApi, viewOf, waitUntil, type RunningApi } from '../support/harness';

/**
 * The view path of the api: calc-b's posts to /internal/agg-update (shared token, validated,
 * never moving a symbol backwards, republished as symbol.updated) and the read API over the
 * stored views (x-api-key when API_KEY is set).
 */
const API_KEY = 'integration-api-key-0123456789';
describe('views: /internal/agg-update and the read API (real Redis)', () => {
  let api: RunningApi;
  let channel: Awaited<ReturnType<typeof listen>>;
  const internal = (body: unknown, token: string | null = INTERNAL_TOKEN) =>
    post(`${api.internalUrl}/internal/agg-update`, body, { auth: null, headers: token === null ? {} : { 'x-internal-token': token } });
  const read = (path: string, key: string | null = API_KEY) => get(`${api.url}${path}`, key === null ? {} : { 'x-api-key': key });

  beforeAll(async () => {
    api = await startApi({ API_KEY });
    channel = await listen(REDIS_URL, api.env.PUBSUB_CHANNEL);
    // The api takes no view of more ticks than calc-a has counted: count some for these symbols.
    const redis = new Redis(REDIS_URL);
    for (const symbol of ['ETHUSDT', 'SOLUSDT', 'XAUUSD', 'ADAUSDT', 'DOTUSDT', 'BADUSDT'])
      await redis.hset(`${api.env.REDIS_PREFIX}:calc:{${symbol}}:state`, 'count', 100);
    await redis.quit();
  });

  afterAll(async () => {
    await channel.close();
    await api.close();
    await dropKeys(REDIS_URL, api.env.REDIS_PREFIX);
  });

  it('stores a view, publishes symbol.updated, and serves it case-insensitively', async () => {
    const view = viewOf('ETHUSDT', 5);
    const answer = await internal({ symbol: 'ETHUSDT', view, ts: Date.now() });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ symbol: 'ETHUSDT', tickCount: 5, stored: true });

    await waitUntil(() => channel.messages.some((m) => m.type === 'symbol.updated' && m.symbol === 'ETHUSDT'), 'symbol.updated');
    const message = channel.messages.find((m) => m.symbol === 'ETHUSDT');
    expect(message).toMatchObject({ type: 'symbol.updated', view });
    expect(message.seq).toMatch(/^\d+-\d+$/);

    expect((await read('/symbols/ethusdt')).body).toEqual(view);
    const list = await read('/symbols');
    expect(list.body).toEqual([
      { symbol: 'ETHUSDT', price: view.price, ts: view.ts, changePct1m: view.changePct1m, tickCount: 5, updatedAt: view.updatedAt },
    ]);
  });

  it('never moves a symbol backwards: an older or equal version is neither stored nor published', async () => {
    const [v3, v7, v9] = [viewOf('SOLUSDT', 3), viewOf('SOLUSDT', 7), viewOf('SOLUSDT', 9)];
    // Posted out of order, as concurrent calc-b workers may deliver them.
    const results = [];
    for (const view of [v7, v3, v9, v7, v9]) results.push((await internal({ symbol: 'SOLUSDT', view, ts: Date.now() })).body.stored);
    expect(results).toEqual([true, false, true, false, false]);

    expect((await read('/symbols/SOLUSDT')).body.tickCount).toBe(9);
    await waitUntil(() => channel.messages.filter((m) => m.symbol === 'SOLUSDT').length >= 2, 'the SOLUSDT messages');
    await new Promise((r) => setTimeout(r, 100));
    expect(channel.messages.filter((m) => m.symbol === 'SOLUSDT').map((m) => m.view.tickCount)).toEqual([7, 9]);
  });

  it.each([
    ['no token', null],
    ['a wrong token', 'integration-internal-tokeX'],
    ['the token with a suffix', `${INTERNAL_TOKEN}x`],
    ['an empty token', ''],
  ])('refuses %s with 401 and stores nothing', async (_name, token) => {
    const answer = await internal({ symbol: 'XAUUSD', view: viewOf('XAUUSD', 1), ts: Date.now() }, token);
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'authentication required' });
    expect((await read('/symbols/XAUUSD')).status).toBe(404);
  });

  it.each([
    ['a negative tickCount', (v: SymbolView) => ({ ...v, tickCount: -1 }), 'view.tickCount'],
    ['a string price', (v: SymbolView) => ({ ...v, price: '1' }), 'view.price'],
    ['11 prices in last10', (v: SymbolView) => ({ ...v, last10: Array(11).fill(1) }), 'view.last10'],
    ['an unknown field', (v: SymbolView) => ({ ...v, extra: 1 }), 'view.extra'],
    ['another symbol inside', (v: SymbolView) => ({ ...v, symbol: 'EURUSD' }), 'view.symbol'],
  ])('refuses a view with %s (400 naming the field)', async (_name, change, field) => {
    const answer = await internal({ symbol: 'XAUUSD', view: change(viewOf('XAUUSD', 2)), ts: Date.now() });
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect((await read('/symbols/XAUUSD')).status).toBe(404);
  });

  describe('several views in one post (an array, as calc-b sends the views of its concurrent jobs)', () => {
    const update = (symbol: string, count: number) => ({ symbol, view: viewOf(symbol, count), ts: Date.now() });

    it('stores and publishes each newer view, answering one result per view in order', async () => {
      const answer = await internal([update('ADAUSDT', 4), update('DOTUSDT', 2), update('ADAUSDT', 3)]);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual([
        { symbol: 'ADAUSDT', tickCount: 4, stored: true },
        { symbol: 'DOTUSDT', tickCount: 2, stored: true },
        { symbol: 'ADAUSDT', tickCount: 3, stored: false },
      ]);
      expect((await read('/symbols/ADAUSDT')).body.tickCount).toBe(4);
      await waitUntil(() => channel.messages.some((m) => m.symbol === 'DOTUSDT'), 'the DOTUSDT message');
      expect(channel.messages.filter((m) => m.symbol === 'ADAUSDT').map((m) => m.view.tickCount)).toEqual([4]);
    });

    it('refuses the whole post, naming [index].field, when one view is invalid: nothing is stored', async () => {
      const answer = await internal([update('BADUSDT', 2), { ...update('BADUSDT', 3), view: { ...viewOf('BADUSDT', 3), price: 'x' } }]);
      expect(answer.status).toBe(400);
      expect(answer.body.errors.map((e: { field: string }) => e.field)).toEqual(['[1].view.price']);
      expect((await read('/symbols/BADUSDT')).status).toBe(404);
    });

    it('refuses the whole post with 422 when one view claims more ticks than counted', async () => {
      const answer = await internal([update('BADUSDT', 2), update('BADUSDT', 101)]);
      expect(answer.status).toBe(422);
      expect(answer.body.errors).toEqual([
        { field: '[1].view.tickCount', reason: 'view.tickCount must not exceed the ticks counted for the symbol' },
      ]);
      expect((await read('/symbols/BADUSDT')).status).toBe(404);
    });

    it.each([
      ['an empty array', []],
      [`${AGG_UPDATES_MAX + 1} views`, Array.from({ length: AGG_UPDATES_MAX + 1 }, () => ({ symbol: 'BADUSDT', view: {}, ts: 1 }))],
      ['a scalar', 7],
    ])('refuses %s with 400 naming the body', async (_name, body) => {
      const answer = await internal(body);
      expect(answer.status).toBe(400);
      expect(answer.body.errors[0].field).toBe('body');
    });

    it('takes AGG_UPDATES_MAX views, and refuses a body over AGG_UPDATES_MAX_BYTES with 413', async () => {
      const full = await internal(Array.from({ length: AGG_UPDATES_MAX }, (_, i) => update('ADAUSDT', 1 + (i % 4))));
      expect(full.status).toBe(200);
      expect(full.body).toHaveLength(AGG_UPDATES_MAX);
      const huge = await internal([{ ...update('BADUSDT', 1), pad: 'x'.repeat(AGG_UPDATES_MAX_BYTES) }]);
      expect(huge.status).toBe(413);
      expect((await read('/symbols/BADUSDT')).status).toBe(404);
    });
  });

  describe('read API', () => {
    it('answers 404 with a JSON error for an unknown symbol', async () => {
      const answer = await read('/symbols/NOPE');
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'no view for symbol NOPE' });
    });

    it('answers 400 naming the id for an impossible symbol', async () => {
      const answer = await read(`/symbols/${'A'.repeat(33)}`);
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toEqual([{ field: 'id', reason: 'id must be 1–32 characters of A-Z a-z 0-9 . _ : / -' }]);
    });

    it.each([
      ['no key', null],
      ['a wrong key', 'integration-api-key-012345678X'],
    ])('refuses %s with 401', async (_name, key) => {
      for (const path of ['/symbols', '/symbols/ETHUSDT']) {
        const answer = await read(path, key);
        expect(answer.status).toBe(401);
        expect(answer.body.message).toBe('authentication required');
      }
    });

    it('documents the read API with the API key scheme, and keeps /internal out of Swagger', async () => {
      const doc = (await get(`${api.url}/docs-json`)).body;
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/symbols', '/symbols/{id}']));
      expect(Object.keys(doc.paths).some((p: string) => p.startsWith('/internal'))).toBe(false);
      expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-api-key' });
      expect(doc.components.schemas.SymbolViewDto.properties.vwap1m).toMatchObject({ nullable: true });
    });
  });
});
