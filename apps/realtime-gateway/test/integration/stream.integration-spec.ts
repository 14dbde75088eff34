import fc from 'fast-check';
import { WebSocket } from 'ws';
import { compareSeq } from '@md/contracts';
import {
  API_KEY,
  get,
  metric,
  post,
  Publisher,
  REDIS_URL,
  ServiceProcess,
  SseClient,
  startGateway,
  waitUntil,
  type RunningGateway,
} from '../support/harness';

const key = { 'x-api-key': API_KEY };

describe('realtime-gateway: /stream (SSE) and /ws', () => {
  let gw: RunningGateway;
  let pub: Publisher;
  const open: SseClient[] = [];

  const connect = async (query = '', headers: Record<string, string> = key) => {
    const client = await SseClient.connect(`${gw.url}/stream${query}`, headers);
    open.push(client);
    return client;
  };

  beforeAll(async () => {
    gw = await startGateway({
      API_KEY,
      CORS_ORIGINS: 'http://dashboard.test:5173',
      STREAM_HISTORY: '1000',
    });
    pub = new Publisher(gw.env);
  });

  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });

  afterAll(async () => {
    await gw.close();
    await pub.close();
  });

  it('sends the snapshot first, then live messages for the filter only, each with its seq as id', async () => {
    await pub.view('AAA');
    await pub.view('BBB');
    const client = await connect('?symbols=aaa&types=symbol.updated,tick.received');
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toMatch(/^text\/event-stream/);
    await client.waitFor((c) => c.events.length >= 1, 'the snapshot');
    const [snapshot] = client.events;
    expect(snapshot.event).toBe('snapshot');
    expect(snapshot.data.views.map((v: { symbol: string }) => v.symbol)).toEqual(['AAA']);
    expect(snapshot.id).toBe(snapshot.data.seq);

    await pub.view('BBB');
    await pub.tick('BBB', 1);
    await pub.view('AAA');
    await pub.tick('AAA', 1);
    await client.waitFor((c) => c.events.length >= 3, 'two live messages');
    const live = client.events.slice(1);
    expect(live.map((e) => `${e.event}:${e.data.symbol}`)).toEqual(['symbol.updated:AAA', 'tick.received:AAA']);
    expect(live[0].data.view.tickCount).toBe(2);
    for (const e of live) expect(e.id).toBe(e.data.seq);
    expect(typeof live[0].data.receivedAt).toBe('number');
  });

  it('sends only views by default, for every symbol', async () => {
    const client = await connect();
    await client.waitFor((c) => c.events.length >= 1, 'the snapshot');
    expect(client.events[0].data.views.map((v: { symbol: string }) => v.symbol)).toEqual(['AAA', 'BBB']);
    await pub.tick('CCC', 1);
    await pub.view('CCC');
    await client.waitFor((c) => c.events.length >= 2, 'the CCC view');
    expect(client.events.slice(1).map((e) => e.event)).toEqual(['symbol.updated']);
  });

  it('resumes with Last-Event-ID: exactly the 100 missed updates, in order, and no snapshot', async () => {
    const first = await connect('?symbols=RES');
    await pub.view('RES');
    await first.waitFor((c) => c.of('symbol.updated').length === 1, 'the first update');
    first.close();
    const resumeFrom = first.lastEventId as string;
    expect(resumeFrom).toBe(first.events[1].data.seq);

    const missed = [];
    for (let i = 0; i < 100; i += 1) {
      missed.push((await pub.view('RES')).tickCount);
      if (i % 10 === 0) await pub.view('OTHER');
    }
    const again = await connect('?symbols=RES', {
      ...key,
      'last-event-id': resumeFrom,
    });
    await again.waitFor((c) => c.events.length >= 100, '100 replayed updates');
    await pub.view('RES');
    await again.waitFor((c) => c.events.length >= 101, 'the next live update');
    expect(again.of('snapshot')).toHaveLength(0);
    expect(again.events.map((e) => e.data.view.tickCount)).toEqual([...missed, missed[missed.length - 1] + 1]);
    expect(
      await metric(gw.url, 'md_gateway_messages_replayed_total', {
        transport: 'sse',
      }),
    ).toBeGreaterThanOrEqual(100);
  });

  it('answers a resume point beyond the retained history (or unknown) with reset, then a fresh snapshot', async () => {
    const first = await connect('?symbols=OLD');
    await pub.view('OLD');
    await first.waitFor((c) => c.of('symbol.updated').length === 1, 'an update');
    first.close();
    // STREAM_HISTORY is 1,000 here (trimming is approximate: whole nodes of 100 entries).
    for (let i = 0; i < 1_500; i += 1) await pub.view('FILLER');
    const latest = await pub.view('OLD');

    for (const lastEventId of [first.lastEventId as string, 'not-an-id', '99999999999999-0']) {
      const again = await connect('?symbols=OLD', {
        ...key,
        'last-event-id': lastEventId,
      });
      await again.waitFor((c) => c.events.length >= 2, 'reset and snapshot');
      expect(again.events.map((e) => e.event)).toEqual(['reset', 'snapshot']);
      expect(again.events[0].data.reason).toMatch(/history|known/);
      expect(again.events[1].data.views).toEqual([latest]);
      again.close();
    }
  });

  it('conflates views to maxHz per symbol, saying how many it skipped, and ends on the newest', async () => {
    const client = await connect('?symbols=FAST&maxHz=2');
    await client.waitFor((c) => c.events.length >= 1, 'the snapshot');
    let newest = 0;
    for (let i = 0; i < 60; i += 1) newest = (await pub.view('FAST')).tickCount;
    await client.waitFor((c) => c.of('symbol.updated').at(-1)?.data.view.tickCount === newest, 'the newest view');
    const updates = client.of('symbol.updated');
    expect(updates.length).toBeLessThan(60);
    // Every one of the 60 was either written or counted as skipped by the one written after it.
    expect(updates.reduce((n, e) => n + 1 + (e.data.skipped ?? 0), 0)).toBe(60);
    const counts = updates.map((e) => e.data.view.tickCount);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it('conflates for many maxHz clients of one filter together: each at most maxHz views per symbol a second, ending on the newest', async () => {
    const maxHz = 5;
    const clients = await Promise.all(Array.from({ length: 200 }, () => connect(`?symbols=GRID1,GRID2&maxHz=${maxHz}`)));
    await waitUntil(() => clients.every((c) => c.events.length >= 1), '200 snapshots', 30_000);
    const startedAt = Date.now();
    const newest: Record<string, number> = {};
    // About 50 views a second per symbol, ten times maxHz, for 1.5 s.
    while (Date.now() - startedAt < 1_500) {
      for (const symbol of ['GRID1', 'GRID2']) newest[symbol] = (await pub.view(symbol)).tickCount;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const viewsOf = (c: SseClient, symbol: string) => c.of('symbol.updated').filter((e) => e.data.symbol === symbol);
    await waitUntil(
      () => clients.every((c) => Object.keys(newest).every((s) => viewsOf(c, s).at(-1)?.data.view.tickCount === newest[s])),
      'the newest views on every client',
      30_000,
    );
    const seconds = (Date.now() - startedAt) / 1_000;
    for (const client of clients)
      for (const symbol of Object.keys(newest)) {
        const counts = viewsOf(client, symbol).map((e) => e.data.view.tickCount as number);
        expect(counts.length).toBeLessThanOrEqual(Math.ceil(seconds * maxHz) + 1);
        expect(new Set(counts).size).toBe(counts.length);
        expect(counts).toEqual([...counts].sort((a, b) => a - b));
      }
  }, 90_000);

  it('conflates and then drops a client that stops reading; a reading client loses nothing', async () => {
    // Its own process, so its metrics are its own. Views are conflated above a quarter of the cap.
    const slow = await ServiceProcess.start('realtime-gateway', {
      REDIS_URL,
      API_KEY,
      CLIENT_BUFFER_MAX_BYTES: '262144',
      REDIS_PREFIX: gw.env.REDIS_PREFIX,
      PUBSUB_CHANNEL: gw.env.PUBSUB_CHANNEL,
    });
    try {
      const query = '?symbols=S1,S2,S3&types=symbol.updated,tick.received';
      const stalled = await SseClient.connect(`${slow.url}/stream${query}`, key);
      const reading = await SseClient.connect(`${slow.url}/stream${query}`, key);
      open.push(stalled, reading);
      await waitUntil(() => stalled.events.length >= 1 && reading.events.length >= 1, 'both snapshots');
      stalled.pause();
      const newest: Record<string, number> = {};
      let ticks = 0;
      const dropped = () =>
        metric(slow.url, 'md_gateway_clients_dropped_total', {
          reason: 'buffer',
        });
      for (let i = 0; i < 20_000; i += 1) {
        const symbol = `S${(i % 3) + 1}`;
        newest[symbol] = (await pub.view(symbol, 2_000)).tickCount;
        await pub.tick(symbol, i, 2_000);
        ticks += 1;
        if (i % 100 === 99 && (await dropped()) > 0) break;
      }
      await waitUntil(async () => (await dropped()) === 1, 'the stalled client to be dropped');
      expect(await metric(slow.url, 'md_gateway_messages_conflated_total')).toBeGreaterThan(0);
      expect(await metric(slow.url, 'md_gateway_clients', { transport: 'sse' })).toBe(1);

      // The reading client: every tick; every view written or counted in the `skipped` of the
      // one written after it; the newest view of each symbol last.
      const viewsOf = (symbol: string) => reading.of('symbol.updated').filter((e) => e.data.symbol === symbol);
      await reading.waitFor(
        (c) =>
          c.of('tick.received').length === ticks && Object.keys(newest).every((s) => viewsOf(s).at(-1)?.data.view.tickCount === newest[s]),
        'every tick and the newest views on the reading client',
        30_000,
      );
      expect(reading.ended).toBe(false);
      for (const symbol of Object.keys(newest)) {
        const views = viewsOf(symbol);
        const first = views[0].data.view.tickCount;
        expect(views.reduce((n, e) => n + 1 + (e.data.skipped ?? 0), 0)).toBe(newest[symbol] - first + 1);
      }
      // Ids only increase, none twice, even if it was conflated too under load (a frame whose
      // resume point has not moved has no id; EventSource keeps the last one).
      const ids = reading.events.slice(1).flatMap((e) => (e.id ? [e.id] : []));
      for (let i = 1; i < ids.length; i += 1)
        expect([ids[i - 1], ids[i], compareSeq(ids[i], ids[i - 1]) > 0]).toEqual([ids[i - 1], ids[i], true]);
    } finally {
      await slow.kill();
    }
  }, 120_000);

  it('delivers a published update to 1,000 concurrent SSE clients', async () => {
    const clients = await Promise.all(Array.from({ length: 1_000 }, () => connect('?symbols=MANY')));
    await waitUntil(() => clients.every((c) => c.events.length >= 1), '1,000 snapshots', 30_000);
    const published = await pub.view('MANY');
    await waitUntil(() => clients.every((c) => c.of('symbol.updated').length === 1), 'the update on every client', 30_000);
    for (const client of clients) expect(client.of('symbol.updated')[0].data.view).toEqual(published);
    expect(await metric(gw.url, 'md_gateway_clients', { transport: 'sse' })).toBe(1_000);
  }, 90_000);

  it('releases everything after 10,000 connect/disconnect cycles', async () => {
    await waitUntil(() => gw.hub.clientCount === 0, 'earlier clients to go');
    const resources = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const before = resources();
    const listeners = process.listenerCount('exit') + process.listenerCount('uncaughtException');
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        next += 1;
        const client = await SseClient.connect(`${gw.url}/stream?symbols=LEAK`, key);
        await client.waitFor((c) => c.events.length >= 1, 'the snapshot');
        client.close();
      }
    };
    await Promise.all(Array.from({ length: 25 }, worker));
    await waitUntil(() => gw.hub.clientCount === 0, 'every client to be released');
    expect(await metric(gw.url, 'md_gateway_clients', { transport: 'sse' })).toBe(0);
    await waitUntil(() => resources() <= before, 'sockets and timers to be released');
    expect(process.listenerCount('exit') + process.listenerCount('uncaughtException')).toBe(listeners);
  }, 120_000);

  describe('auth, CORS and input', () => {
    it('refuses a stream without the key, and accepts a token from POST /stream/token instead', async () => {
      const refused = await connect('', {});
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ statusCode: 401 });
      expect((await post(`${gw.url}/stream/token`, {})).status).toBe(401);

      const issued = await post(`${gw.url}/stream/token`, {}, { headers: key });
      expect(issued.status).toBe(201);
      expect(issued.body.expiresAt).toBeGreaterThan(Date.now());
      const byToken = await connect(`?token=${encodeURIComponent(issued.body.token)}`, {});
      expect(byToken.status).toBe(200);

      const [expiry, nonce, signature] = issued.body.token.split('.');
      const tampered = [
        `${(Date.now() + 10 ** 9).toString(36)}.${nonce}.${signature}`,
        `${expiry}.${nonce}.${signature.slice(0, -2)}AA`,
        'a.b.c',
        API_KEY,
      ];
      for (const token of tampered) expect((await connect(`?token=${encodeURIComponent(token)}`, {})).status).toBe(401);
      // A token cannot buy another token.
      expect((await post(`${gw.url}/stream/token`, {}, { headers: { 'x-api-key': issued.body.token } })).status).toBe(401);
    });

    it('answers bad filters with 400 naming the field', async () => {
      const cases: [string, string][] = [
        ['?types=symbol.updated,bogus', 'types'],
        ['?symbols=A%20B', 'symbols'],
        ['?maxHz=0', 'maxHz'],
        ['?maxHz=abc', 'maxHz'],
        ['?symbols=A&symbols=B', 'symbols'],
      ];
      for (const [query, field] of cases) {
        const answer = await connect(query);
        expect(answer.status).toBe(400);
        expect(answer.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      }
    });

    it('answers generated hostile query strings with 200 or 400 only, never a 5xx', async () => {
      const value = fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.constantFrom('%00', '%ZZ', '__proto__', 'constructor', '1e309', '-0', 'NaN', "'; DROP TABLE x; --", '*', 'a'.repeat(5_000)),
      );
      const name = fc.constantFrom('symbols', 'types', 'maxHz', 'lastEventId', 'token', '__proto__', 'constructor[prototype]');
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(name, value), { maxLength: 4 }), async (pairs) => {
          // A lone surrogate cannot be percent-encoded: it goes out raw, as a careless client would send it.
          const encode = (v: string) => {
            try {
              return encodeURIComponent(v);
            } catch {
              return v;
            }
          };
          const query = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encode(v)}`).join('&');
          const answer = await connect(`?${query}`);
          answer.close();
          expect({
            query,
            ok: answer.status === 200 || answer.status === 400,
          }).toEqual({ query, ok: true });
          if (answer.status === 400) expect(answer.body.errors[0].field).toEqual(expect.any(String));
        }),
        { numRuns: 100 },
      );
      expect(Object.keys(Object.prototype)).toEqual([]);
    });

    it('allows only CORS_ORIGINS cross-origin', async () => {
      const allowed = await connect('', {
        ...key,
        origin: 'http://dashboard.test:5173',
      });
      expect(allowed.headers['access-control-allow-origin']).toBe('http://dashboard.test:5173');
      const other = await connect('', { ...key, origin: 'http://evil.test' });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await fetch(`${gw.url}/stream/token`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://dashboard.test:5173',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'x-api-key',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-headers')).toContain('x-api-key');
      const refusedPreflight = await fetch(`${gw.url}/stream/token`, {
        method: 'OPTIONS',
        headers: { origin: 'http://evil.test' },
      });
      expect(refusedPreflight.status).toBe(403);
      expect(refusedPreflight.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('WebSocket', () => {
    const messagesOf = (socket: WebSocket) => {
      const messages: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
      socket.on('message', (data) => messages.push(JSON.parse(String(data))));
      return messages;
    };
    const wsUrl = (query: string) => `${gw.url.replace('http', 'ws')}/ws${query}`;

    it('carries the same messages, and subscribe/unsubscribe change the filter at any time', async () => {
      const socket = new WebSocket(wsUrl('?symbols=WSA'), { headers: key });
      const messages = messagesOf(socket);
      await waitUntil(() => messages.length >= 1, 'the snapshot');
      expect(messages[0].type).toBe('snapshot');
      const a = await pub.view('WSA');
      await pub.view('WSB');
      await waitUntil(() => messages.length >= 2, 'the WSA update');
      expect(messages[1]).toMatchObject({
        type: 'symbol.updated',
        symbol: 'WSA',
        view: a,
      });

      socket.send(
        JSON.stringify({
          event: 'subscribe',
          data: { symbols: ['WSB'], types: ['tick.received'] },
        }),
      );
      await waitUntil(() => messages.some((m) => m.type === 'subscribed'), 'the acknowledgement');
      await waitUntil(() => messages.filter((m) => m.type === 'snapshot').length === 2, 'a new snapshot');
      expect(messages.find((m) => m.type === 'subscribed')).toEqual({
        type: 'subscribed',
        symbols: ['WSA', 'WSB'],
        types: ['symbol.updated', 'tick.received'],
      });
      expect(messages.filter((m) => m.type === 'snapshot')[1].views.map((v: { symbol: string }) => v.symbol)).toEqual(['WSA', 'WSB']);
      await pub.tick('WSB', 7);
      await waitUntil(() => messages.some((m) => m.type === 'tick.received'), 'the WSB tick');

      socket.send(JSON.stringify({ event: 'unsubscribe', data: { symbols: ['WSA'] } }));
      await waitUntil(() => messages.filter((m) => m.type === 'subscribed').length === 2, 'the second acknowledgement');
      const before = messages.length;
      await pub.view('WSA');
      const b = await pub.view('WSB');
      await waitUntil(
        () => messages.some((m) => m.type === 'symbol.updated' && m.view.tickCount === b.tickCount && m.symbol === 'WSB'),
        'the WSB update',
      );
      expect(messages.slice(before).filter((m) => m.symbol === 'WSA')).toEqual([]);

      socket.send(JSON.stringify({ event: 'unsubscribe', data: { types: ['bogus'] } }));
      await waitUntil(() => messages.some((m) => m.type === 'error'), 'the error');
      expect(messages.find((m) => m.type === 'error')).toMatchObject({
        statusCode: 400,
        errors: [{ field: 'data.types' }],
      });
      socket.close();
    });

    it('refuses a socket without the key (4401) or from a foreign origin (4403), and accepts a token', async () => {
      const closeOf = (socket: WebSocket) => new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      expect(await closeOf(new WebSocket(wsUrl('')))).toBe(4401);
      expect(
        await closeOf(
          new WebSocket(wsUrl(''), {
            headers: { ...key, origin: 'http://evil.test' },
          }),
        ),
      ).toBe(4403);
      expect(await closeOf(new WebSocket(wsUrl('?maxHz=-1'), { headers: key }))).toBe(4400);
      const { body } = await post(`${gw.url}/stream/token`, {}, { headers: key });
      const socket = new WebSocket(wsUrl(`?token=${encodeURIComponent(body.token)}`), {
        headers: { origin: 'http://dashboard.test:5173' },
      });
      const messages = messagesOf(socket);
      await waitUntil(() => messages.length >= 1, 'the snapshot');
      expect(messages[0].type).toBe('snapshot');
      socket.close();
    });
  });

  it('sends the security headers on the stream as on every answer', async () => {
    const stream = await connect();
    expect(stream.status).toBe(200);
    expect(stream.headers['x-content-type-options']).toBe('nosniff');
    expect(stream.headers['x-frame-options']).toBeDefined();
    expect((await get(`${gw.url}/health/liveness`)).headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('reports readiness and metrics', async () => {
    expect((await get(`${gw.url}/health/readiness`)).status).toBe(200);
    expect((await get(`${gw.url}/health/liveness`)).status).toBe(200);
    expect(await metric(gw.url, 'md_gateway_subscription_up')).toBe(1);
    expect(
      await metric(gw.url, 'md_gateway_messages_sent_total', {
        transport: 'sse',
        type: 'symbol.updated',
      }),
    ).toBeGreaterThan(0);
    expect(
      await metric(gw.url, 'md_gateway_delivery_seconds_count', {
        transport: 'sse',
      }),
    ).toBeGreaterThan(0);
  });
});

describe('realtime-gateway: rate limit', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    gw = await startGateway({ API_KEY, STREAM_RATE_LIMIT_PER_MIN: '3', AUTH_FAILURES_PER_MIN: '3' });
  });

  afterAll(() => gw.close());

  it('limits stream connections per key or address (429 with Retry-After; WS close 4429), each counted apart', async () => {
    const opened: SseClient[] = [];
    try {
      for (let i = 0; i < 3; i += 1) opened.push(await SseClient.connect(`${gw.url}/stream`, key));
      for (const client of opened) expect(client.status).toBe(200);
      const refused = await SseClient.connect(`${gw.url}/stream`, key);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.body).toMatchObject({ statusCode: 429 });
      // A wrong key buys no allowance of its own (the limit counts only what auth verified): it
      // is refused, and past AUTH_FAILURES_PER_MIN failures the address gets 4429.
      const codes = await Promise.all(
        [1, 2, 3, 4].map(
          () =>
            new Promise<number>((resolve) => {
              const socket = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, { headers: { 'x-api-key': `${API_KEY}-other` } });
              socket.on('close', (code) => resolve(code));
            }),
        ),
      );
      // Three were refused by the key check, the fourth as too many failures from this address.
      expect(codes.sort()).toEqual([4401, 4401, 4401, 4429]);
    } finally {
      for (const client of opened) client.close();
    }
  });
});
