import { createDatabase, get, post, startApi, tick, waitUntil, type RunningApi } from '../support/harness';

/** GET /symbols/:id/history and /candles over what the FlushModule wrote to a database of this test's own. */
jest.setTimeout(60_000);

describe('history and candles (real Postgres through the flush)', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let api: RunningApi;
  const minute = 60_000;
  // Three closed 1-minute bars in the past and one tick in the current minute.
  const base = Math.floor(Date.now() / minute) * minute - 3 * minute;
  const at = (m: number, s: number) => base + m * minute + s * 1000;
  const sent = [
    tick({ symbol: 'solusdt', ts: at(0, 10), price: 10, volume: 1, event_id: 'h-a' }),
    tick({ symbol: 'solusdt', ts: at(0, 20), price: 12, volume: 2, event_id: 'h-b' }),
    tick({ symbol: 'solusdt', ts: at(0, 20), price: 11, volume: 3, event_id: 'h-c' }), // same ts: after h-b by event_id
    tick({ symbol: 'solusdt', ts: at(2, 5), price: 9, volume: 4, event_id: 'h-d' }),
    tick({ symbol: 'solusdt', ts: Date.now() - 10, price: 13, volume: 5, event_id: 'h-e' }),
    tick({ symbol: 'ethusdt', ts: at(1, 0), price: 99, volume: 1, event_id: 'h-x' }),
  ];

  beforeAll(async () => {
    db = await createDatabase();
    api = await startApi({ PG_URL: db.url, FLUSH_ENABLED: 'true', FLUSH_INTERVAL_MS: '100' });
    expect((await post(`${api.url}/ingest/ticks`, sent)).body).toMatchObject({ accepted: 6 });
    await waitUntil(async () => (await get(`${api.url}/symbols/SOLUSDT/history`)).body.length === 5, 'the ticks in Postgres');
  });

  afterAll(async () => {
    await api.close();
    await db.drop();
  });

  it('returns the newest ticks first, limited, with every field', async () => {
    const answer = await get(`${api.url}/symbols/solusdt/history?limit=3`);
    expect(answer.status).toBe(200);
    expect(answer.body.map((r: { event_id: string }) => r.event_id)).toEqual(['h-e', 'h-d', 'h-c']);
    expect(answer.body[1]).toEqual({
      event_id: 'h-d',
      symbol: 'SOLUSDT',
      price: 9,
      volume: 4,
      source: 'binance',
      ts: at(2, 5),
      received_at: expect.any(Number),
    });
    expect((await get(`${api.url}/symbols/NOSUCH/history`)).body).toEqual([]);
  });

  it('builds OHLCV bars oldest first, open/close by (ts, event_id), the open bar not final', async () => {
    const answer = await get(`${api.url}/symbols/SOLUSDT/candles?interval=1m`);
    expect(answer.status).toBe(200);
    // The current bar's start comes from the tick itself; whether it is still open depends on
    // the moment of the request, so `final` is checked on daily bars below.
    const current = Math.floor(sent[4].ts / minute) * minute;
    type Bar = { t: number; open: number; high: number; low: number; close: number; volume: number; trades: number };
    expect(
      answer.body.map(({ t, open, high, low, close, volume, trades }: Bar) => ({ t, open, high, low, close, volume, trades })),
    ).toEqual([
      { t: base, open: 10, high: 12, low: 10, close: 11, volume: 6, trades: 3 },
      { t: at(2, 0), open: 9, high: 9, low: 9, close: 9, volume: 4, trades: 1 },
      { t: current, open: 13, high: 13, low: 13, close: 13, volume: 5, trades: 1 },
    ]);
    expect(answer.body.slice(0, 2).map((bar: { final: boolean }) => bar.final)).toEqual([true, true]);
    const daily = await get(`${api.url}/symbols/SOLUSDT/candles?interval=1d`);
    expect(daily.body.at(-1)).toMatchObject({ close: 13, final: false });
    const limited = await get(`${api.url}/symbols/SOLUSDT/candles?interval=1m&limit=2`);
    expect(limited.body.map((c: { t: number }) => c.t)).toEqual([at(2, 0), current]);
  });

  it.each([
    ['/symbols/SOLUSDT/history?limit=0', 'limit'],
    ['/symbols/SOLUSDT/history?limit=5001', 'limit'],
    ['/symbols/SOLUSDT/history?limit=abc', 'limit'],
    ['/symbols/SOLUSDT/history?limit=1.5', 'limit'],
    ['/symbols/SOLUSDT/history?since=1', 'since'],
    ['/symbols/SOLUSDT/candles?interval=2m', 'interval'],
    ['/symbols/SOLUSDT/candles?limit=-1', 'limit'],
    [`/symbols/${'X'.repeat(40)}/candles`, 'id'],
  ])('refuses %s with 400 naming %s', async (path, field) => {
    const answer = await get(`${api.url}${path}`);
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });
});
