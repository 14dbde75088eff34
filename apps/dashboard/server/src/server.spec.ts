import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DashboardEnv, KNOWN_PLACEHOLDERS } from '@md/config';
import { readConfig } from './config';
import { createDashboardServer } from './server';

/**
 * The dashboard server over real HTTP: in front of two small upstream servers that record what
 * they receive (standing in for the api and the gateway, which the end-to-end test runs for
 * real), so that what is forwarded, with which headers, can be checked exactly.
 */
const KEY = 'dashboard-test-api-key-0123';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A dashboard server listening on a free port. */
async function dashboardOn(config: DashboardEnv, staticDir: string): Promise<{ app: FastifyInstance; url: string }> {
  const { app } = await createDashboardServer(config, { staticDir });
  return { app, url: await app.listen({ port: 0, host: '127.0.0.1' }) };
}

async function closeDashboard(app: FastifyInstance): Promise<void> {
  app.server.closeAllConnections();
  await app.close();
}

/** An upstream that records each request; /stream answers an event stream the test feeds. */
function upstream(name: string, readiness = 200) {
  const seen: Seen[] = [];
  let feed: http.ServerResponse | undefined;
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (req.url === '/health/readiness') return void res.writeHead(readiness).end();
    if (req.url?.startsWith('/stream?')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': hello\n\n');
      feed = res;
      return;
    }
    if (req.url === '/pipeline') {
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          queues: {},
          flush: { buffered: 0, pending: 0, oldestBufferedAgeMs: 0 },
          at: 1,
          key: req.headers['x-api-key'] === KEY,
        }),
      );
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
    res.end(JSON.stringify({ name, url: req.url }));
  });
  return { server, seen, send: (text: string) => feed?.write(text), end: () => feed?.end() };
}

describe('readConfig', () => {
  it('has defaults for everything', () => {
    const { config, problems } = readConfig({});
    expect(problems).toEqual([]);
    expect(config).toEqual({
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      HOST: '0.0.0.0',
      PORT: 5173,
      API_URL: 'http://127.0.0.1:3000',
      GATEWAY_URL: 'http://127.0.0.1:3001',
      CONSUMERS_URL: 'http://127.0.0.1:3002',
      FEEDER_URL: 'http://127.0.0.1:3003',
      GATEWAY_PUBLIC_URL: '/gw',
      API_PUBLIC_URL: 'http://localhost:3000',
      TRUST_PROXY: false,
      VISITOR_API_PER_MIN: 600,
      VISITOR_TOKENS_PER_MIN: 60,
      VISITOR_STREAMS_PER_MIN: 60,
    });
  });

  it('reads TRUST_PROXY as the Nest services do, and refuses `true`', () => {
    expect(readConfig({ TRUST_PROXY: '1' }).config.TRUST_PROXY).toBe(1);
    expect(readConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).config.TRUST_PROXY).toEqual(['loopback', '10.0.0.0/8']);
    for (const bad of ['true', '11', '10.0.0.0/33', 'proxy.internal']) {
      expect(readConfig({ TRUST_PROXY: bad }).problems).toEqual([
        'TRUST_PROXY: must be false, a hop count 1-10, or a comma-separated list of IP addresses / CIDRs (or loopback, linklocal, uniquelocal)',
      ]);
    }
    expect(readConfig({ VISITOR_TOKENS_PER_MIN: '0' }).problems).toEqual([
      'VISITOR_TOKENS_PER_MIN: must be an integer between 1 and 1000000',
    ]);
  });

  it('names every bad variable without echoing its value', () => {
    const secret = 'short-key';
    const { problems } = readConfig({
      PORT: '70000',
      API_URL: 'ftp://x',
      API_KEY: secret,
      GATEWAY_PUBLIC_URL: 'gw',
      LOG_LEVEL: 'loud',
      API_PUBLIC_URL: '',
    });
    // In libs/config's order (the schema's own variables, then BaseEnv's), as for every app.
    expect(problems).toEqual([
      'API_URL: must be a http/https:// URL',
      'API_KEY: must be at least 16 characters when set',
      'GATEWAY_PUBLIC_URL: must be a path starting with / or a http/https:// URL',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
      'PORT: must be an integer between 0 and 65535',
    ]);
    expect(problems.join()).not.toContain(secret);
  });

  it('refuses a published placeholder as API_KEY, with the list of libs/config', () => {
    expect(KNOWN_PLACEHOLDERS.length).toBeGreaterThan(0);
    for (const placeholder of [
      ...KNOWN_PLACEHOLDERS.filter((value) => value.length >= 16),
      'change-me-0123456789abcdef',
      'changeme-but-long-enough',
    ]) {
      expect(readConfig({ API_KEY: placeholder }).problems).toEqual([
        'API_KEY: is a published placeholder value: set a secret of your own',
      ]);
    }
  });

  it('reads a bare host:port as http, and drops trailing slashes', () => {
    const { config } = readConfig({
      API_URL: 'orchestrator-api:10000',
      GATEWAY_URL: 'https://gw.example.com/',
      GATEWAY_PUBLIC_URL: '/stream-gw/',
    });
    expect(config).toMatchObject({
      API_URL: 'http://orchestrator-api:10000',
      GATEWAY_URL: 'https://gw.example.com',
      GATEWAY_PUBLIC_URL: '/stream-gw',
    });
  });
  // Exit code 78 and its JSON line: test/integration/boot.integration-spec.ts, against the built server.
});

describe('the dashboard server', () => {
  const api = upstream('api');
  const gateway = upstream('gateway', 503);
  let staticDir: string;
  let url: string;
  let dashboard: FastifyInstance;

  beforeAll(async () => {
    staticDir = mkdtempSync(join(tmpdir(), 'dashboard-static-'));
    mkdirSync(join(staticDir, 'assets'));
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(staticDir, 'assets', 'index-abc123.js'), 'console.log(1)');
    const apiUrl = await listen(api.server);
    const gatewayUrl = await listen(gateway.server);
    const { config, problems } = readConfig({
      API_URL: apiUrl,
      GATEWAY_URL: gatewayUrl,
      CONSUMERS_URL: 'http://127.0.0.1:1', // nothing listens there
      FEEDER_URL: apiUrl,
      API_KEY: KEY,
      LOG_LEVEL: 'silent',
      API_PUBLIC_URL: 'https://api.example.com',
    });
    expect(problems).toEqual([]);
    ({ app: dashboard, url } = await dashboardOn(config, staticDir));
  });

  afterAll(async () => {
    gateway.end();
    await closeDashboard(dashboard);
    for (const server of [api.server, gateway.server]) await new Promise((resolve) => server.close(resolve));
  });

  it('proxies /api/* to the api with the API key added, replacing any key the browser sent', async () => {
    const answer = await fetch(`${url}/api/symbols/BTCUSDT/candles?interval=1m`, { headers: { 'x-api-key': 'from-the-browser' } });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ name: 'api', url: '/symbols/BTCUSDT/candles?interval=1m' });
    const request = api.seen.at(-1);
    expect(request?.headers['x-api-key']).toBe(KEY);
    expect(request?.headers['x-request-id']).toMatch(/.+/);
  });

  it("proxies only the read routes the app calls, GET/HEAD only, and never the visitor's credentials", async () => {
    const before = api.seen.length;
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const answer = await fetch(`${url}/api/symbols`, { method, headers: { authorization: 'Basic eDp5' } });
      expect({ method, status: answer.status, allow: answer.headers.get('allow') }).toEqual({ method, status: 405, allow: 'GET, HEAD' });
    }
    for (const path of ['/api/ingest/tick', '/api/admin/queues', '/api/pipeline', '/api/symbols/BTCUSDT/other', '/api/internal/x']) {
      expect({ path, status: (await fetch(`${url}${path}`, { headers: { authorization: 'Basic eDp5' } })).status }).toEqual({
        path,
        status: 404,
      });
    }
    expect(api.seen).toHaveLength(before);
    const answer = await fetch(`${url}/api/symbols/BTCUSDT/history?limit=5`, {
      headers: { authorization: 'Basic eDp5', cookie: 'session=abc', 'x-api-key': 'from-the-browser' },
    });
    expect(answer.status).toBe(200);
    const request = api.seen.at(-1);
    expect(request).toMatchObject({ method: 'GET', url: '/symbols/BTCUSDT/history?limit=5' });
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.headers.cookie).toBeUndefined();
    expect(request?.headers['x-api-key']).toBe(KEY);
    expect((await fetch(`${url}/gw/ws`)).status).toBe(404);
    const post = await fetch(`${url}/gw/stream`, { method: 'POST' });
    expect({ status: post.status, allow: post.headers.get('allow') }).toEqual({ status: 405, allow: 'GET' });
  });

  it('passes a request that says `Expect: 100-continue` on, never answering it with a false 502', async () => {
    // undici (under @fastify/http-proxy) refuses an Expect header outright; node:http clients and curl send it.
    const ask = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const request = http.request(`${url}${path}`, {
          method,
          headers: { expect: '100-continue', ...(body ? { 'content-type': 'application/json' } : {}) },
        });
        request.on('continue', () => request.end(body));
        request.on('response', (answer) => {
          let text = '';
          answer.on('data', (chunk: Buffer) => (text += chunk.toString()));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 0, text }));
        });
        request.on('error', reject);
        if (!body) request.end();
      });
    expect(await ask('GET', '/api/symbols')).toEqual({ status: 200, text: JSON.stringify({ name: 'api', url: '/symbols' }) });
    expect(await ask('POST', '/gw/stream/token', '{}')).toEqual({
      status: 200,
      text: JSON.stringify({ name: 'gateway', url: '/stream/token' }),
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('md_dashboard_proxy_errors_total{service="dashboard",upstream="api"} 0');
    expect(metrics).toContain('md_dashboard_proxy_errors_total{service="dashboard",upstream="gateway"} 0');
  });

  it('gets a stream token with the key, on POST only', async () => {
    const answer = await fetch(`${url}/gw/stream/token`, { method: 'POST' });
    expect(await answer.json()).toEqual({ name: 'gateway', url: '/stream/token' });
    expect(gateway.seen.at(-1)).toMatchObject({ method: 'POST', url: '/stream/token' });
    expect(gateway.seen.at(-1)?.headers['x-api-key']).toBe(KEY);
    expect((await fetch(`${url}/gw/stream/token`)).status).toBe(405);
  });

  it('streams the event stream through unbuffered, without the key, passing Last-Event-ID on', async () => {
    const controller = new AbortController();
    const answer = await fetch(`${url}/gw/stream?token=t0k&types=symbol.updated`, {
      headers: { 'last-event-id': '17-3', 'x-api-key': 'from-the-browser' },
      signal: controller.signal,
    });
    expect(answer.headers.get('content-type')).toBe('text/event-stream');
    const request = gateway.seen.at(-1);
    expect(request?.url).toBe('/stream?token=t0k&types=symbol.updated');
    expect(request?.headers['x-api-key']).toBeUndefined();
    expect(request?.headers['last-event-id']).toBe('17-3');
    const reader = (answer.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const next = async () => decoder.decode((await reader.read()).value);
    expect(await next()).toBe(': hello\n\n');
    // Each event arrives on its own, while the upstream response is still open.
    gateway.send('id: 17-4\nevent: symbol.updated\ndata: {"seq":"17-4"}\n\n');
    expect(await next()).toBe('id: 17-4\nevent: symbol.updated\ndata: {"seq":"17-4"}\n\n');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('md_dashboard_streams_open{service="dashboard"} 1');
    controller.abort();
  });

  it('answers 502 when an upstream is unreachable, and counts it', async () => {
    const { config } = readConfig({ API_URL: 'http://127.0.0.1:1', LOG_LEVEL: 'silent' });
    const { app: lonely, url: lonelyUrl } = await dashboardOn(config, staticDir);
    const answer = await fetch(`${lonelyUrl}/api/symbols`);
    expect(answer.status).toBe(502);
    expect(await answer.json()).toEqual({ statusCode: 502, error: 'Bad Gateway', message: 'api unreachable' });
    expect(await (await fetch(`${lonelyUrl}/metrics`)).text()).toContain(
      'md_dashboard_proxy_errors_total{service="dashboard",upstream="api"} 1',
    );
    await closeDashboard(lonely);
  });

  it('serves the app: index.html revalidated and hardened, hashed assets immutable, app routes to index.html', async () => {
    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(await index.text()).toContain('id="root"');
    const asset = await fetch(`${url}/assets/index-abc123.js`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const route = await fetch(`${url}/symbols/BTCUSDT`);
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('id="root"');
    const again = await fetch(`${url}/assets/index-abc123.js`, { headers: { 'if-none-match': asset.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
  });

  it('never serves a file outside the build, and 404s a missing asset', async () => {
    expect((await fetch(`${url}/assets/missing.js`)).status).toBe(404);
    // Dot segments (plain or %2e) are resolved by the URL parser: /etc/passwd is then just an app route.
    for (const path of ['/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd']) {
      const dotted = await rawGet(url, path);
      expect({ path, status: dotted.status, app: dotted.body.includes('id="root"') }).toEqual({ path, status: 200, app: true });
    }
    // Encoded slashes survive the URL parser; once decoded, the path leaves the build directory: refused.
    for (const path of ['/assets/..%2f..%2f..%2f..%2fetc%2fpasswd', '/%2e%2e%2f%2e%2e%2fetc%2fhostname']) {
      const answer = await rawGet(url, path);
      expect({ path, status: answer.status, leaked: /root:|localhost/.test(answer.body) }).toEqual({ path, status: 404, leaked: false });
    }
  });

  it('serves its public config: URLs only, never the key', async () => {
    const answer = await fetch(`${url}/config.json`);
    const text = await answer.text();
    expect(JSON.parse(text)).toEqual({
      gatewayUrl: '/gw',
      apiDocsUrl: 'https://api.example.com/docs',
      queueAdminUrl: 'https://api.example.com/admin/queues',
    });
    expect(text).not.toContain(KEY);
  });

  it("reports each service's readiness and the api's pipeline stats", async () => {
    const status = await (await fetch(`${url}/status`)).json();
    expect(status.services).toEqual([
      { name: 'orchestrator-api', ready: true, status: 200, latencyMs: expect.any(Number) },
      { name: 'realtime-gateway', ready: false, status: 503, latencyMs: expect.any(Number) },
      { name: 'consumers', ready: false, status: null, error: 'unreachable', latencyMs: expect.any(Number) },
      { name: 'feeder', ready: true, status: 200, latencyMs: expect.any(Number) },
    ]);
    expect(status.pipeline).toMatchObject({ flush: { buffered: 0 }, key: true });
    expect(status.at).toEqual(expect.any(Number));
  });

  it('has liveness, readiness (the build is there) and metrics', async () => {
    expect(await (await fetch(`${url}/health/liveness`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${url}/health/readiness`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/md_dashboard_requests_total\{service="dashboard",route="api",status="2xx"\} \d+/);
    const { config } = readConfig({ LOG_LEVEL: 'silent' });
    const { app: unbuilt, url: unbuiltUrl } = await dashboardOn(config, join(staticDir, 'nowhere'));
    expect((await fetch(`${unbuiltUrl}/health/readiness`)).status).toBe(503);
    await closeDashboard(unbuilt);
  });
});

describe('limits per visitor', () => {
  const servers: http.Server[] = [];
  const dashboards: FastifyInstance[] = [];
  const start = async (server: http.Server) => {
    servers.push(server);
    return listen(server);
  };
  /** A dashboard in front of `gatewayUrl` / `apiUrl` with the given settings. */
  const dashboardWith = async (env: Record<string, string>) => {
    const { config, problems } = readConfig({ LOG_LEVEL: 'silent', API_KEY: KEY, ...env });
    expect(problems).toEqual([]);
    const { app, url } = await dashboardOn(config, tmpdir());
    dashboards.push(app);
    return url;
  };
  const token = (url: string, visitor?: string) =>
    fetch(`${url}/gw/stream/token`, { method: 'POST', headers: visitor ? { 'x-forwarded-for': visitor } : {} });

  afterAll(async () => {
    for (const app of dashboards) await closeDashboard(app);
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('one visitor hammering the token route gets 429 while another visitor still gets a token', async () => {
    const gateway = upstream('gateway');
    const url = await dashboardWith({ GATEWAY_URL: await start(gateway.server), TRUST_PROXY: 'loopback', VISITOR_TOKENS_PER_MIN: '3' });
    const hammering = [];
    for (let i = 0; i < 5; i++) hammering.push((await token(url, '203.0.113.7')).status);
    expect(hammering).toEqual([200, 200, 200, 429, 429]);
    const refused = await token(url, '203.0.113.7');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ statusCode: 429, message: expect.stringContaining('VISITOR_TOKENS_PER_MIN') });
    expect((await token(url, '198.51.100.9')).status).toBe(200);
    // Upstream, X-Forwarded-For is the visitor as this server resolved it: a gateway trusting one hop from this server tells them apart too.
    expect(gateway.seen.at(-1)?.headers['x-forwarded-for']).toBe('198.51.100.9');
    expect(gateway.seen).toHaveLength(4);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain(
      'md_dashboard_rate_limited_total{service="dashboard",route="stream_token"} 3',
    );
  });

  it('limits event streams per visitor too (VISITOR_STREAMS_PER_MIN)', async () => {
    const gateway = upstream('gateway');
    const url = await dashboardWith({ GATEWAY_URL: await start(gateway.server), TRUST_PROXY: 'loopback', VISITOR_STREAMS_PER_MIN: '2' });
    const open = (visitor: string) => {
      const controller = new AbortController();
      return fetch(`${url}/gw/stream?token=t`, { headers: { 'x-forwarded-for': visitor }, signal: controller.signal }).then(
        async (answer) => {
          const body = answer.status === 200 ? undefined : await answer.json();
          controller.abort();
          return { status: answer.status, retryAfter: answer.headers.get('retry-after'), body };
        },
      );
    };
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await open('203.0.113.7')).status);
    expect(statuses).toEqual([200, 200, 429]);
    const refused = await open('203.0.113.7');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(refused.body).toMatchObject({ message: expect.stringContaining('VISITOR_STREAMS_PER_MIN') });
    expect((await open('198.51.100.9')).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain(
      'md_dashboard_rate_limited_total{service="dashboard",route="gateway"} 2',
    );
  });

  it('counts an IPv6 visitor by /64: a fresh address in the same /64 is the same visitor', async () => {
    const api = upstream('api');
    const url = await dashboardWith({ API_URL: await start(api.server), TRUST_PROXY: 'loopback', VISITOR_API_PER_MIN: '2' });
    const statuses = [];
    for (const visitor of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::3']) {
      statuses.push((await fetch(`${url}/api/symbols`, { headers: { 'x-forwarded-for': visitor } })).status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect((await fetch(`${url}/api/symbols`, { headers: { 'x-forwarded-for': '2001:db8:1:3::1' } })).status).toBe(200);
  });

  it('without TRUST_PROXY, a forged X-Forwarded-For does not buy a fresh budget', async () => {
    const api = upstream('api');
    const url = await dashboardWith({ API_URL: await start(api.server), VISITOR_API_PER_MIN: '2' });
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await fetch(`${url}/api/symbols`, { headers: { 'x-forwarded-for': `192.0.2.${i}` } })).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect(api.seen).toHaveLength(2);
    // Nor does it reach upstream: what this server did not believe is not passed on.
    expect(api.seen.map((request) => request.headers['x-forwarded-for'])).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it('never follows a redirect with the key: not on the token route, not for /status', async () => {
    const elsewhere = upstream('elsewhere');
    const elsewhereUrl = await start(elsewhere.server);
    const redirecting = http.createServer((_req, res) => res.writeHead(302, { location: `${elsewhereUrl}/stolen` }).end());
    const redirectingUrl = await start(redirecting);
    const url = await dashboardWith({
      API_URL: redirectingUrl,
      GATEWAY_URL: redirectingUrl,
      CONSUMERS_URL: redirectingUrl,
      FEEDER_URL: redirectingUrl,
    });
    const answer = await fetch(`${url}/gw/stream/token`, { method: 'POST', redirect: 'manual' });
    expect(answer.status).toBe(302);
    const status = await (await fetch(`${url}/status`)).json();
    expect(status).toMatchObject({ pipeline: null, pipelineError: 'api unreachable' });
    // (The readiness probes, which carry no key, may follow theirs.)
    expect(elsewhere.seen.filter((request) => request.headers['x-api-key'] !== undefined)).toEqual([]);
  });
});

/** A GET with the path exactly as given (fetch would normalise the dots away). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const request = http.get({ hostname, port, path }, (answer) => {
      let body = '';
      answer.on('data', (chunk) => (body += chunk));
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}
