import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { internalUrlOf } from '../../src/app/internal-listener';
import { apiForBlock, dropKeys, INTERNAL_TOKEN, post, REDIS_URL, startApi, waitUntil, viewOf, type RunningApi } from '../support/harness';

interface RawExchange {
  /** Resolves with the status code, or null when the server closed without answering. */
  status: Promise<number | null>;
  /** Sends the rest of the body. */
  finish(): void;
}

/**
 * One HTTP/1.1 request with its target exactly as given; `sendAll: false` holds back the last
 * byte of the body until finish(), so the request stays in flight.
 */
function rawRequest(
  base: string,
  method: string,
  target: string,
  body: string,
  headers: Record<string, string> = {},
  sendAll = true,
): RawExchange {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  const head =
    [
      `${method} ${target} HTTP/1.1`,
      `host: ${hostname}:${port}`,
      'content-type: application/json',
      `content-length: ${Buffer.byteLength(body)}`,
      'connection: close',
    ]
      .concat(Object.entries(headers).map(([k, v]) => `${k}: ${v}`))
      .join('\r\n') + '\r\n\r\n';
  socket.write(head + (sendAll ? body : body.slice(0, -1)));
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  const status = new Promise<number | null>((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
      resolve(match ? Number(match[1]) : null);
    });
  });
  return { status, finish: () => socket.write(body.slice(-1)) };
}

/**
 * The internal listener (INTERNAL_PORT) against request targets as a hostile client writes
 * them: percent-encoded and absolute forms are sent byte for byte over a raw socket (an HTTP
 * client would normalise them), because Fastify's router decodes and accepts both.
 */
describe('internal listener: routes are split by the matched route, not the raw target', () => {
  let api: RunningApi;
  let redis: Redis;
  const viewsKey = () => `${api.env.REDIS_PREFIX}:views`;
  const body = (symbol: string) => JSON.stringify({ symbol, view: viewOf(symbol, 1), ts: Date.now() });
  const token = { 'x-internal-token': INTERNAL_TOKEN };

  beforeAll(async () => {
    api = await startApi({ AUTH_FAILURES_PER_MIN: '3' });
    redis = new Redis(REDIS_URL);
    for (const symbol of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'])
      await redis.hset(`${api.env.REDIS_PREFIX}:calc:{${symbol}}:state`, 'count', 100);
  });

  afterAll(async () => {
    await api.close();
    await redis.quit();
    await dropKeys(REDIS_URL, api.env.REDIS_PREFIX);
  });

  it.each([
    ['percent-encoded', '/%69nternal/agg-update'],
    ['percent-encoded (last segment)', '/internal/%61gg-update'],
    ['absolute-form', 'http://x/internal/agg-update'],
  ])('answers 404 on the public port to an %s internal target, with the right token too', async (_name, target) => {
    const status = await rawRequest(api.url, 'POST', target, body('BTCUSDT'), token).status;
    expect(status).toBe(404);
    expect(await redis.hexists(viewsKey(), 'BTCUSDT')).toBe(0);
  });

  it('serves the plain internal target on the internal port (the raw client itself works)', async () => {
    expect(await rawRequest(api.internalUrl, 'POST', '/internal/agg-update', body('ETHUSDT'), token).status).toBe(200);
    expect(await redis.hexists(viewsKey(), 'ETHUSDT')).toBe(1);
  });

  it.each([
    ['plain', '/symbols'],
    ['percent-encoded', '/%73ymbols'],
    ['absolute-form', 'http://x/symbols'],
    ['docs', '/docs-json'],
  ])('answers 404 on the internal port to a %s public target', async (_name, target) => {
    expect(await rawRequest(api.internalUrl, 'GET', target, '').status).toBe(404);
  });

  it('counts wrong internal tokens per source: 429 past AUTH_FAILURES_PER_MIN, even for the right token', async () => {
    const wrong = () =>
      post(`${api.internalUrl}/internal/agg-update`, JSON.parse(body('SOLUSDT')), { auth: null, headers: { 'x-internal-token': 'guess' } });
    for (let i = 0; i < 3; i++) expect((await wrong()).status).toBe(401);
    expect((await wrong()).status).toBe(429);
    const right = await post(`${api.internalUrl}/internal/agg-update`, JSON.parse(body('SOLUSDT')), { auth: null, headers: token });
    expect(right.status).toBe(429);
    expect(await redis.hexists(viewsKey(), 'SOLUSDT')).toBe(0);
  });
});

describe('internal listener at shutdown', () => {
  // The test closes the api itself, with a post in flight.
  const ctx = apiForBlock({}, { closedByTest: true });

  it('lets a post in flight at shutdown finish instead of cutting its connection', async () => {
    const { api, redis } = ctx;
    await redis.hset(`${api.env.REDIS_PREFIX}:calc:{XAUUSD}:state`, 'count', 100);
    const exchange = rawRequest(
      api.internalUrl,
      'POST',
      '/internal/agg-update',
      JSON.stringify({
        symbol: 'XAUUSD',
        view: viewOf('XAUUSD', 1),
        ts: Date.now(),
      }),
      { 'x-internal-token': INTERNAL_TOKEN },
      false,
    );
    await new Promise((resolve) => setTimeout(resolve, 50)); // the request line and headers are in
    const closing = api.close();
    await waitUntil(() => {
      try {
        internalUrlOf(api.app);
        return false;
      } catch {
        return true; // the internal listener stopped accepting
      }
    }, 'the internal listener to stop listening');
    exchange.finish();
    expect(await exchange.status).toBe(200);
    await closing;
    expect(await redis.hexists(`${api.env.REDIS_PREFIX}:views`, 'XAUUSD')).toBe(1);
  });
});
