import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { basicAuth, get, post as postJson, REDIS_URL } from '@md/testing';
import { apiProcess, basic, post, startApi, tick, type RunningApi } from '../support/harness';

/**
 * Limits a hostile client cannot reset: rate limits keyed on what authentication verified (not
 * on a header it merely sent, nor a forged X-Forwarded-For), failed authentications answered
 * 429 per source, secrets refused at boot, and dependency errors kept out of public answers.
 * Every client here is 127.0.0.1; with TRUST_PROXY=loopback, X-Forwarded-For stands for
 * different visitors behind a trusted proxy.
 */
jest.setTimeout(60_000);

const API_KEY = 'auth-limits-api-key-0123';
const textOf = (answer: { body: unknown }) => (typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
const from = (address: string, headers: Record<string, string> = {}) => ({ ...headers, 'x-forwarded-for': address });

describe('rate limits count what authentication verified (READ_RATE_LIMIT_PER_MIN=3)', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await startApi({ API_KEY, READ_RATE_LIMIT_PER_MIN: '3', AUTH_FAILURES_PER_MIN: '5' });
  });
  afterAll(() => api.close());

  it('a forged X-Forwarded-For does not buy a fresh budget (TRUST_PROXY off)', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(`${api.url}/symbols`, from(`198.51.100.${i}`, { 'x-api-key': API_KEY }))).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('random wrong keys get 401, then 429 past AUTH_FAILURES_PER_MIN, and never a budget of their own', async () => {
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await get(`${api.url}/symbols/BTCUSDT`, { 'x-api-key': randomUUID() })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const blocked = await get(`${api.url}/symbols/BTCUSDT`, { 'x-api-key': randomUUID() });
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.body).toMatchObject({ statusCode: 429, message: 'too many failed authentications: try again later' });
    const metrics = await get(`${api.url}/metrics`);
    expect(textOf(metrics)).toMatch(/md_auth_failures_total\{realm="read",outcome="refused"[^}]*\} 5\n/);
    expect(textOf(metrics)).toMatch(/md_auth_failures_total\{realm="read",outcome="blocked"[^}]*\} 3\n/);
  });
});

describe('open reads (no API_KEY, READ_RATE_LIMIT_PER_MIN=3, TRUST_PROXY off): one budget per connection address', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await startApi({ READ_RATE_LIMIT_PER_MIN: '3' });
  });
  afterAll(() => api.close());

  // Nothing is verified here, so nothing a request sends may choose its budget: each request
  // forges a new X-Forwarded-For AND a new x-api-key. Trusting either (TRUST_PROXY true, or
  // a tracker on the key as sent) would give each request a fresh budget: five 200s.
  it('a forged X-Forwarded-For or an unverified x-api-key per request does not buy a fresh budget', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await get(`${api.url}/symbols`, from(`198.51.100.${i}`, { 'x-api-key': randomUUID() }))).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });
});

describe('behind a trusted proxy (TRUST_PROXY=loopback): per visitor', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await startApi({ API_KEY, READ_RATE_LIMIT_PER_MIN: '2', AUTH_FAILURES_PER_MIN: '3', TRUST_PROXY: 'loopback' });
  });
  afterAll(() => api.close());

  it('one visitor of the shared key spends only their own read budget', async () => {
    const key = { 'x-api-key': API_KEY };
    const first = [];
    for (let i = 0; i < 3; i++) first.push((await get(`${api.url}/symbols`, from('203.0.113.1', key))).status);
    expect(first).toEqual([200, 200, 429]);
    expect((await get(`${api.url}/symbols`, from('203.0.113.2', key))).status).toBe(200);
  });

  it('ingest: 429 after AUTH_FAILURES_PER_MIN wrong passwords from a source, even with the right one; other sources unaffected', async () => {
    const wrong = basicAuth('feeder', 'wrong-password');
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await post(`${api.url}/ingest/tick`, tick(), { auth: wrong, headers: from('192.0.2.66') })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Blocked before its credentials are looked at: a right guess cannot be told from a wrong one.
    expect((await post(`${api.url}/ingest/tick`, tick(), { headers: from('192.0.2.66') })).status).toBe(429);
    expect((await post(`${api.url}/ingest/tick`, tick(), { auth: basic(), headers: from('192.0.2.67') })).status).toBe(200);
    expect(textOf(await get(`${api.url}/metrics`))).toMatch(/md_auth_failures_total\{realm="ingest",outcome="blocked"[^}]*\} 2\n/);
    // Realms count apart: the guessing at ingest does not block that address's read API (e.g. a shared dashboard).
    expect((await get(`${api.url}/symbols`, from('192.0.2.66', { 'x-api-key': API_KEY }))).status).toBe(200);
  });
});

describe('/admin/queues: failed Basic Auth is not free (the built api, as a process)', () => {
  const ADMIN_PASSWORD = 'admin-password-0123';
  const api = apiProcess({ ADMIN_PASSWORD, AUTH_FAILURES_PER_MIN: '3', TRUST_PROXY: 'loopback' });

  it('answers 429 after AUTH_FAILURES_PER_MIN wrong passwords from a source; the admin elsewhere still gets in', async () => {
    const wrong = { authorization: basicAuth('admin', 'not-the-password') };
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(`${api.url}/admin/queues`, from('192.0.2.10', wrong))).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const admin = { authorization: basicAuth('admin', ADMIN_PASSWORD) };
    expect((await get(`${api.url}/admin/queues/api/queues`, from('192.0.2.10', admin))).status).toBe(429);
    expect((await get(`${api.url}/admin/queues/api/queues`, from('192.0.2.11', admin))).status).toBe(200);
    expect(textOf(await get(`${api.url}/metrics`))).toMatch(/md_auth_failures_total\{realm="admin",outcome="refused"[^}]*\} 3\n/);
  });
});

describe('secrets at boot (the built api, exit 78 naming the variable)', () => {
  const base = {
    PATH: process.env.PATH ?? '',
    INGEST_USERNAME: 'feeder',
    INGEST_PASSWORD: 'integration-secret',
    INTERNAL_TOKEN: 'integration-internal-token',
    REDIS_URL,
  };
  const start = (env: Record<string, string>) =>
    spawnSync(process.execPath, [join(__dirname, '../../../../dist/apps/orchestrator-api/main.js')], {
      env: { ...base, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });

  it.each([
    [
      'the INTERNAL_TOKEN of .env.example',
      { NODE_ENV: 'test', INTERNAL_TOKEN: 'change-me-internal-token' },
      'INTERNAL_TOKEN: is a published placeholder value',
    ],
    [
      'the INGEST_PASSWORD of .env.example',
      { NODE_ENV: 'test', INGEST_PASSWORD: 'change-me-please' },
      'INGEST_PASSWORD: is a published placeholder value',
    ],
    ['NODE_ENV=production and no API_KEY', { NODE_ENV: 'production' }, 'API_KEY: is required with NODE_ENV=production'],
    ['a user name with ":"', { NODE_ENV: 'test', INGEST_USERNAME: 'fee:der' }, 'INGEST_USERNAME: must not contain'],
  ])('refuses %s', (_case, env, problem) => {
    const run = start(env);
    expect(run.status).toBe(78);
    expect(run.stderr).toContain(problem);
  });
});

describe('dependency errors stay out of public answers', () => {
  let api: RunningApi;
  beforeAll(async () => {
    // Nothing listens on port 1: Redis and PostgreSQL are unreachable.
    api = await startApi({
      REDIS_URL: 'redis://127.0.0.1:1',
      PG_URL: 'postgres://postgres@127.0.0.1:1/market',
      REDIS_COMMAND_TIMEOUT_MS: '200',
    });
  });
  afterAll(() => api.close().catch(() => undefined));

  /** Host, port, driver and errno text that a caller must not see. */
  const INTERNAL =
    /127\.0\.0\.1|:1\b|ECONNREFUSED|connect |ioredis|Connection is closed|stream isn't writeable|postgres:\/\/|timeout exceeded/i;

  it('readiness says what is down, generically', async () => {
    const ready = await get(`${api.url}/health/readiness`);
    expect(ready.status).toBe(503);
    expect(ready.body.details.redis).toEqual({ status: 'down', reason: expect.stringMatching(/^(unreachable|timeout)$/) });
    expect(textOf(ready)).not.toMatch(INTERNAL);
  });

  it.each(['/symbols', '/symbols/BTCUSDT', '/symbols/BTCUSDT/history', '/symbols/BTCUSDT/candles?interval=1m', '/pipeline'])(
    '%s answers 503 without internals',
    async (path) => {
      const answer = await get(`${api.url}${path}`);
      expect(answer.status).toBe(503);
      expect(textOf(answer)).not.toMatch(INTERNAL);
    },
  );

  it('ingest answers 503 without internals', async () => {
    const answer = await postJson(`${api.url}/ingest/tick`, tick(), { headers: { authorization: basic() } });
    expect(answer.status).toBe(503);
    expect(textOf(answer)).not.toMatch(INTERNAL);
  });
});
