// @vitest-environment node
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardServer, readConfig } from './serve.mjs';

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
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ queues: {}, flush: { buffered: 0, pending: 0, oldestBufferedAgeMs: 0 }, at: 1, key: req.headers['x-api-key'] === KEY }));
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
    });
  });

  it('names every bad variable without echoing its value', () => {
    const secret = 'short-key';
    const { problems } = readConfig({ PORT: '70000', API_URL: 'ftp://x', API_KEY: secret, GATEWAY_PUBLIC_URL: 'gw', LOG_LEVEL: 'loud', API_PUBLIC_URL: '' });
    expect(problems).toEqual([
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
      'PORT: must be an integer between 0 and 65535',
      'API_URL: must be a http/https:// URL',
      'API_KEY: must be at least 16 characters when set',
      'GATEWAY_PUBLIC_URL: must be a path starting with / or a http/https:// URL',
    ]);
    expect(problems.join()).not.toContain(secret);
  });

  it('reads a bare host:port as http, and drops trailing slashes', () => {
    const { config } = readConfig({ API_URL: 'orchestrator-api:10000', GATEWAY_URL: 'https://gw.example.com/', GATEWAY_PUBLIC_URL: '/stream-gw/' });
    expect(config).toMatchObject({ API_URL: 'http://orchestrator-api:10000', GATEWAY_URL: 'https://gw.example.com', GATEWAY_PUBLIC_URL: '/stream-gw' });
  });

  it('stops the process with exit code 78 and one JSON line on a bad variable', () => {
    const script = fileURLToPath(new URL('./serve.mjs', import.meta.url));
    const run = spawnSync(process.execPath, [script], { env: { PATH: process.env.PATH, API_KEY: 'tiny', PORT: 'x' }, encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(78);
    const line = JSON.parse(run.stderr.trim());
    expect(line).toMatchObject({ level: 'fatal', service: 'dashboard', problems: ['PORT: must be an integer between 0 and 65535', 'API_KEY: must be at least 16 characters when set'] });
    expect(run.stderr).not.toContain('tiny');
  });
});

describe('the dashboard server', () => {
  const api = upstream('api');
  const gateway = upstream('gateway', 503);
  let staticDir: string;
  let url: string;
  let dashboard: http.Server;

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
    dashboard = createDashboardServer(config, { staticDir }).server;
    url = await listen(dashboard);
  });

  afterAll(async () => {
    gateway.end();
    dashboard.closeAllConnections();
    for (const server of [dashboard, api.server, gateway.server]) await new Promise((resolve) => server.close(resolve));
  });

  it('proxies /api/* to the api with the API key added, replacing any key the browser sent', async () => {
    const answer = await fetch(`${url}/api/symbols/BTCUSDT/candles?interval=1m`, { headers: { 'x-api-key': 'from-the-browser' } });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ name: 'api', url: '/symbols/BTCUSDT/candles?interval=1m' });
    const request = api.seen.at(-1);
    expect(request?.headers['x-api-key']).toBe(KEY);
    expect(request?.headers['x-request-id']).toMatch(/.+/);
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
    const lonely = createDashboardServer(config, { staticDir }).server;
    const lonelyUrl = await listen(lonely);
    const answer = await fetch(`${lonelyUrl}/api/symbols`);
    expect(answer.status).toBe(502);
    expect(await answer.json()).toEqual({ statusCode: 502, error: 'Bad Gateway', message: 'api unreachable' });
    expect(await (await fetch(`${lonelyUrl}/metrics`)).text()).toContain('md_dashboard_proxy_errors_total{service="dashboard",upstream="api"} 1');
    await new Promise((resolve) => lonely.close(resolve));
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
    expect(JSON.parse(text)).toEqual({ gatewayUrl: '/gw', apiDocsUrl: 'https://api.example.com/docs', queueAdminUrl: 'https://api.example.com/admin/queues' });
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
    const unbuilt = createDashboardServer(config, { staticDir: join(staticDir, 'nowhere') }).server;
    const unbuiltUrl = await listen(unbuilt);
    expect((await fetch(`${unbuiltUrl}/health/readiness`)).status).toBe(503);
    await new Promise((resolve) => unbuilt.close(resolve));
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
