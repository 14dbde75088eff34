import { get, post, startApi, ThrowawayRedis, tick, waitUntil, type RunningApi } from '../support/harness';

/**
 * Redis goes away under a running api: ingest must answer 503 with Retry-After (never a
 * 2xx for a tick not stored), readiness must say so, and both must recover by themselves
 * when Redis is back. A throw-away redis-server on its own port is killed for this.
 */
describe('ingest while Redis is unreachable', () => {
  let redis: ThrowawayRedis;
  let api: RunningApi;

  beforeAll(async () => {
    redis = await ThrowawayRedis.create();
    await redis.start();
    api = await startApi({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' });
  });

  afterAll(async () => {
    await api.close().catch(() => undefined);
    await redis.kill();
  });

  it('answers 503 with Retry-After and reports not ready, then recovers without a restart', async () => {
    expect((await post(`${api.url}/ingest/tick`, tick())).status).toBe(200);

    await redis.kill();

    const single = await post(`${api.url}/ingest/tick`, tick());
    expect(single.status).toBe(503);
    expect(single.headers.get('retry-after')).toBe('1');
    expect(single.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });

    const batch = await post(`${api.url}/ingest/ticks`, [tick(), tick({ price: -1 })]);
    expect(batch.status).toBe(503);
    expect(batch.headers.get('retry-after')).toBe('1');
    expect(batch.body).toMatchObject({ errors: true, accepted: 0, invalid: 1, unavailable: 1 });

    const ready = await get(`${api.url}/health/readiness`);
    expect(ready.status).toBe(503);
    expect(ready.body.details.redis.status).toBe('down');
    expect((await get(`${api.url}/health/liveness`)).status).toBe(200);

    await redis.start();

    await waitUntil(async () => (await get(`${api.url}/health/readiness`)).status === 200, 'readiness to recover');
    const sent = tick();
    const again = await post(`${api.url}/ingest/tick`, sent);
    expect(again.body).toEqual({ event_id: sent.event_id, status: 'accepted' });
  });
});
