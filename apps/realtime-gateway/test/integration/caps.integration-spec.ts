import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { RedisKeys } from '@md/redis';
import { HistoryTrimmed, StreamHistory } from '../../src/stream/history';
import { API_KEY, metric, Publisher, REDIS_URL, SseClient, startGateway, waitUntil, type RunningGateway } from '../support/harness';

const key = { 'x-api-key': API_KEY };
const wsUrl = (gw: RunningGateway, query = '') => `${gw.url.replace('http', 'ws')}/ws${query}`;
const closeOf = (socket: WebSocket) => new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const messagesOf = (socket: WebSocket): any[] => {
  const messages: unknown[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  return messages as never[];
};

/**
 * The gateway's caps against hostile or careless clients (issue 15: WS frames, resume paging,
 * MAX_CLIENTS, snapshot chunks, WS subscribe rate). Each test reaches its cap.
 */
describe('realtime-gateway: caps', () => {
  let gw: RunningGateway;
  let pub: Publisher;

  beforeAll(async () => {
    gw = await startGateway({
      API_KEY,
      MAX_CLIENTS: '3',
      CLIENT_BUFFER_MAX_BYTES: '65536',
      SNAPSHOT_CHUNK_BYTES: '16384',
      WS_SUBSCRIBES_PER_MIN: '3',
      STREAM_HISTORY: '5000',
    });
    pub = new Publisher(gw.env);
  });

  afterAll(async () => {
    await gw.close();
    await pub.close();
  });

  afterEach(() => waitUntil(() => gw.hub.clientCount === 0, 'the test clients to go'));

  it('closes a WebSocket sending a frame over the max payload with 1009, before reading it', async () => {
    const before = await metric(gw.url, 'md_gateway_refused_total', { reason: 'ws_payload' });
    const socket = new WebSocket(wsUrl(gw), { headers: key });
    const closed = closeOf(socket);
    socket.on('open', () => socket.send(Buffer.alloc(2 * 1024 * 1024, 'x')));
    socket.on('error', () => undefined);
    expect(await closed).toBe(1009);
    expect(await metric(gw.url, 'md_gateway_refused_total', { reason: 'ws_payload' })).toBe(before + 1);
  });

  it('cuts an unauthenticated socket that sends 2 MiB and never answers the close', async () => {
    const { port } = new URL(gw.url);
    const raw = net.connect(Number(port), '127.0.0.1');
    let received = 0;
    let ended = false;
    raw.on('data', (chunk) => (received += chunk.length));
    raw.on('close', () => (ended = true));
    raw.on('error', () => undefined);
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await waitUntil(() => received > 0, 'the upgrade');
    // A masked text frame announcing 2 MiB, then the bytes; the peer never sends a close frame.
    const length = 2 * 1024 * 1024;
    const header = Buffer.alloc(14);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
    raw.write(header);
    raw.write(Buffer.alloc(length, 1), () => undefined);
    // ws alone would wait 30 s for the close handshake, reading on.
    await waitUntil(() => ended, 'the gateway to cut the connection', 10_000);
  });

  it('answers one stream past MAX_CLIENTS with 503 and Retry-After (WS: close 1013), counted', async () => {
    const open = await Promise.all([1, 2, 3].map(() => SseClient.connect(`${gw.url}/stream?symbols=CAP`, key)));
    try {
      for (const client of open) await client.waitFor((c) => c.events.length >= 1, 'the snapshot');
      const refused = await SseClient.connect(`${gw.url}/stream?symbols=CAP`, key);
      expect(refused.status).toBe(503);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.body).toMatchObject({ statusCode: 503 });
      expect(refused.body.message).toMatch(/MAX_CLIENTS/);

      const socket = new WebSocket(wsUrl(gw, '?symbols=CAP'), { headers: key });
      const messages = messagesOf(socket);
      expect(await closeOf(socket)).toBe(1013);
      expect(messages[0]).toMatchObject({ type: 'error', statusCode: 503 });
      expect(await metric(gw.url, 'md_gateway_refused_total', { reason: 'max_clients' })).toBe(2);
    } finally {
      for (const client of open) client.close();
    }
    await waitUntil(() => gw.hub.clientCount === 0, 'the clients to go');
    const again = await SseClient.connect(`${gw.url}/stream?symbols=CAP`, key);
    expect(again.status).toBe(200);
    again.close();
  });

  it('sends a snapshot larger than the client buffer cap in chunks, whole, then live messages', async () => {
    // 600 symbols of about 1 KB: about 10 times CLIENT_BUFFER_MAX_BYTES (64 KiB) in one snapshot.
    const symbols = Array.from({ length: 600 }, (_, i) => `BIG${String(i).padStart(4, '0')}`);
    for (const symbol of symbols) await pub.view(symbol, 800);
    const client = await SseClient.connect(`${gw.url}/stream?symbols=${symbols.join(',')}`, key);
    await client.waitFor((c) => c.events.some((e) => e.event === 'snapshot' && !e.data.more) || c.ended, 'the last snapshot chunk');
    expect(client.ended).toBe(false);
    const chunks = client.of('snapshot');
    expect(chunks.length).toBeGreaterThan(10);
    const seq = chunks.at(-1)?.data.seq;
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.data).toMatchObject({ seq, more: true });
      expect(chunk.id).toBeUndefined();
    }
    expect(chunks.at(-1)?.id).toBe(seq);
    expect(chunks.flatMap((c) => c.data.views.map((v: { symbol: string }) => v.symbol))).toEqual(symbols);
    const next = await pub.view(symbols[5]);
    await client.waitFor((c) => c.of('symbol.updated').length === 1, 'the live update');
    expect(client.of('symbol.updated')[0].data.view).toEqual(next);
    client.close();
  });

  it('refuses WS subscribe messages past WS_SUBSCRIBES_PER_MIN with error 429, without applying them', async () => {
    const socket = new WebSocket(wsUrl(gw, '?symbols=SUB0'), { headers: key });
    const messages = messagesOf(socket);
    await waitUntil(() => messages.length >= 1, 'the snapshot');
    for (let i = 1; i <= 4; i += 1) socket.send(JSON.stringify({ event: 'subscribe', data: { symbols: [`SUB${i}`] } }));
    await waitUntil(() => messages.some((m) => m.type === 'error'), 'the refusal');
    await waitUntil(() => messages.filter((m) => m.type === 'subscribed').length === 3, 'three acknowledgements');
    expect(messages.find((m) => m.type === 'error')).toMatchObject({ statusCode: 429, errors: [{ field: 'event' }] });
    expect(messages.filter((m) => m.type === 'subscribed').at(-1).symbols).toEqual(['SUB0', 'SUB1', 'SUB2', 'SUB3']);
    expect(await metric(gw.url, 'md_gateway_refused_total', { reason: 'ws_subscribe_rate' })).toBe(1);
    socket.close();
  });
});

/** History is read a page at a time, only when the next page is wanted, and a trim under the reader is never a silent gap. */
describe('realtime-gateway: resume reads history page by page', () => {
  let gw: RunningGateway;
  let pub: Publisher;
  let redis: Redis;

  beforeAll(async () => {
    gw = await startGateway({ API_KEY, STREAM_HISTORY: '5000' });
    pub = new Publisher(gw.env);
    redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    redis.disconnect();
    await gw.close();
    await pub.close();
  });

  it('reads the next page only when the previous one has been taken', async () => {
    const first = await pub.view('PAGED');
    const history = gw.app.get(StreamHistory);
    const { seq } = await history.snapshot();
    for (let i = 0; i < 25; i += 1) await pub.view('PAGED');
    const xrange = jest.spyOn(redis, 'xrange');
    const reader = new StreamHistory(redis as never, new RedisKeys(gw.env));
    const pages = await reader.after(seq, 10);
    expect(pages).toBeDefined();
    const calls = xrange.mock.calls.length;
    const got: number[] = [];
    for await (const page of pages as AsyncGenerator<{ raw: string }[]>) {
      // One read per page taken, never ahead of the reader.
      expect(xrange.mock.calls.length).toBe(calls + Math.ceil(got.length / 10));
      for (const message of page) got.push(JSON.parse(message.raw).view.tickCount);
    }
    expect(got).toEqual(Array.from({ length: 25 }, (_, i) => first.tickCount + i + 1));
    expect(await history.after('nonsense')).toBeUndefined();
  });

  it('throws HistoryTrimmed when history is trimmed past the page being read', async () => {
    for (let i = 0; i < 30; i += 1) await pub.view('TRIM');
    const reader = new StreamHistory(redis as never, new RedisKeys(gw.env));
    const [[oldest]] = await redis.xrange(new RedisKeys(gw.env).history(), '-', '+', 'COUNT', 1);
    const pages = (await reader.after(oldest, 10)) as AsyncGenerator<unknown[]>;
    await pages.next();
    await redis.xtrim(new RedisKeys(gw.env).history(), 'MAXLEN', 5);
    await expect(pages.next()).rejects.toBeInstanceOf(HistoryTrimmed);
  });

  it('replays thousands of missed messages, across pages, exactly and in order', async () => {
    const firstClient = await SseClient.connect(`${gw.url}/stream?symbols=MANYPAGES`, key);
    await pub.view('MANYPAGES');
    await firstClient.waitFor((c) => c.of('symbol.updated').length === 1, 'the first update');
    firstClient.close();
    const missed: number[] = [];
    for (let i = 0; i < 1_800; i += 1) {
      missed.push((await pub.view('MANYPAGES')).tickCount);
      if (i % 3 === 0) await pub.view('NOISE');
    }
    const again = await SseClient.connect(`${gw.url}/stream?symbols=MANYPAGES`, {
      ...key,
      'last-event-id': firstClient.lastEventId as string,
    });
    await again.waitFor((c) => c.events.length >= missed.length, 'the replay', 30_000);
    expect(again.of('snapshot')).toHaveLength(0);
    expect(again.events.map((e) => e.data.view.tickCount)).toEqual(missed);
    again.close();
  }, 60_000);
});

/** MAX_STREAMS_PER_ADDRESS: one address cannot take the places of everybody else. */
describe('realtime-gateway: streams per address', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    // The tests connect from 127.0.0.1; with TRUST_PROXY=loopback X-Forwarded-For names the client.
    gw = await startGateway({ API_KEY, MAX_STREAMS_PER_ADDRESS: '2', TRUST_PROXY: 'loopback' });
  });

  afterAll(() => gw.close());

  it('answers a third stream of one address with 429 + Retry-After (WS: 429 then close 4429), counted, while another address connects', async () => {
    const visitor = { ...key, 'x-forwarded-for': '203.0.113.7' };
    const open = await Promise.all([1, 2].map(() => SseClient.connect(`${gw.url}/stream?symbols=CAP`, visitor)));
    try {
      for (const client of open) await client.waitFor((c) => c.events.length >= 1, 'the snapshot');
      const refused = await SseClient.connect(`${gw.url}/stream?symbols=CAP`, visitor);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.body.message).toMatch(/MAX_STREAMS_PER_ADDRESS/);

      // The same /64 is the same address.
      const socket = new WebSocket(wsUrl(gw, '?symbols=CAP'), { headers: visitor });
      const messages = messagesOf(socket);
      expect(await closeOf(socket)).toBe(4429);
      expect(messages[0]).toMatchObject({ type: 'error', statusCode: 429 });
      expect(await metric(gw.url, 'md_gateway_refused_total', { reason: 'max_streams_per_address' })).toBe(2);

      const other = await SseClient.connect(`${gw.url}/stream?symbols=CAP`, { ...key, 'x-forwarded-for': '198.51.100.9' });
      expect(other.status).toBe(200);
      other.close();
    } finally {
      for (const client of open) client.close();
    }
    // A closed stream gives its place back.
    await waitUntil(() => gw.hub.clientCount === 0, 'the clients to go');
    const again = await SseClient.connect(`${gw.url}/stream?symbols=CAP`, visitor);
    expect(again.status).toBe(200);
    again.close();
  });

  it('counts an IPv6 client by its /64', async () => {
    const open = await Promise.all(
      ['2001:db8:1:2::1', '2001:db8:1:2::2'].map((address) =>
        SseClient.connect(`${gw.url}/stream?symbols=CAP`, { ...key, 'x-forwarded-for': address }),
      ),
    );
    try {
      const refused = await SseClient.connect(`${gw.url}/stream?symbols=CAP`, { ...key, 'x-forwarded-for': '2001:db8:1:2:ffff::3' });
      expect(refused.status).toBe(429);
    } finally {
      for (const client of open) client.close();
    }
  });
});
