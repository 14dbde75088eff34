import { basicAuth, get, post } from '@md/testing';
import { apiProcess, tick } from '../support/harness';

/**
 * The queue admin UI (bull-board) at /admin/queues: mounted only with ADMIN_PASSWORD, and only
 * behind it. The built api runs as a process: bull-board's Fastify adapter loads an ESM-only
 * package through Node's require(esm), which Jest's module loader does not do.
 */
jest.setTimeout(90_000);

const PASSWORD = 'admin-password-0123';
const API_KEY = 'admin-test-api-key-0123';
const admin = { authorization: basicAuth('admin', PASSWORD) };
const ingest = { authorization: basicAuth('feeder', 'integration-secret') };

describe('/admin/queues with ADMIN_PASSWORD set', () => {
  // Twenty refusals from one address below: more than AUTH_FAILURES_PER_MIN's default allows.
  const api = apiProcess({ ADMIN_PASSWORD: PASSWORD, API_KEY, AUTH_FAILURES_PER_MIN: '1000' });

  it.each([
    ['no credentials', {}],
    ['a wrong password', { authorization: basicAuth('admin', `${PASSWORD}x`) }],
    ['a wrong user', { authorization: basicAuth('root', PASSWORD) }],
    ['the API key instead', { 'x-api-key': API_KEY }],
    ['a malformed header', { authorization: 'Basic !!!' }],
  ])('refuses %s on the page, its JSON API and its assets', async (_case, headers: Record<string, string>) => {
    for (const path of ['/admin/queues', '/admin/queues/', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png']) {
      const answer = await get(`${api.url}${path}`, headers);
      expect({ path, status: answer.status }).toEqual({ path, status: 401 });
      expect(answer.headers.get('www-authenticate')).toBe('Basic realm="queues", charset="UTF-8"');
      expect(answer.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'authentication required' });
    }
  });

  it('serves the UI to the admin', async () => {
    const page = await get(`${api.url}/admin/queues`, admin);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.body).toContain('Market data queues');
  });

  it('lists both pipeline queues, with the jobs ingest added', async () => {
    expect((await post(`${api.url}/ingest/tick`, tick(), { headers: ingest })).status).toBe(200);
    const answer = await get(`${api.url}/admin/queues/api/queues`, admin);
    expect(answer.status).toBe(200);
    const queues = answer.body.queues as { name: string; counts: Record<string, number> }[];
    expect(queues.map((q) => q.name).sort()).toEqual(['ticks.received', 'views.compute']);
    expect(queues.find((q) => q.name === 'ticks.received')?.counts.waiting).toBe(1);
  });

  it('leaves the other routes as they were', async () => {
    expect((await get(`${api.url}/health/liveness`)).status).toBe(200);
    expect((await get(`${api.url}/symbols`, admin)).status).toBe(401); // the read API still wants its key
    expect((await get(`${api.url}/symbols`, { 'x-api-key': API_KEY })).status).toBe(200);
    expect((await get(`${api.url}/admin/elsewhere`, admin)).status).toBe(404);
  });
});

describe('/admin/queues without ADMIN_PASSWORD', () => {
  const api = apiProcess();

  it('is not mounted at all', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      expect((await get(`${api.url}${path}`, { authorization: basicAuth('admin', '') })).status).toBe(404);
    }
  });
});
