import { Redis } from 'ioredis';
import { jobIdFor } from '@md/pipeline';
import { apiForBlock, dropKeys, isolated, post, REDIS_URL, startApi, tick, type RunningApi } from '../support/harness';

/**
 * A runtime error inside EXEC does not undo the MULTI's other commands. Provoked here for
 * real: the queue's wait list is made a string, so BullMQ's add script fails with WRONGTYPE
 * while the publish and the dedupe commit beside it run. The tick must not be answered 2xx,
 * and a retry with the same event_id must be accepted once the queue is healthy again.
 */
describe('an enqueue that fails inside EXEC', () => {
  const ctx = apiForBlock();

  it('answers 503, forgets the event_id, and accepts the retry', async () => {
    const { api, redis } = ctx;
    const waitKey = `${api.env.REDIS_PREFIX}:bull:${api.env.QUEUE_NAME}:wait`;
    const sent = tick();
    await redis.set(waitKey, 'not a list');

    const refused = await post(`${api.url}/ingest/tick`, sent);

    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await redis.exists(`${api.env.REDIS_PREFIX}:dedupe:${sent.event_id}`)).toBe(0);
    // The symbol is registered by the commit only: a tick not stored takes no MAX_SYMBOLS slot.
    expect(await redis.smembers(`${api.env.REDIS_PREFIX}:symbols`)).toEqual([]);

    await redis.del(waitKey);
    const retried = await post(`${api.url}/ingest/tick`, sent);

    expect(retried.body).toEqual({ event_id: sent.event_id, status: 'accepted' });
    expect(await redis.lrange(waitKey, 0, -1)).toEqual([jobIdFor(sent.event_id)]);
    expect(await redis.smembers(`${api.env.REDIS_PREFIX}:symbols`)).toEqual([sent.symbol.toUpperCase()]);
  });
});

describe('the MAX_SYMBOLS set after an upgrade (empty, views already stored)', () => {
  const ids = isolated();
  let api: RunningApi;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    await redis.hset(`${ids.REDIS_PREFIX}:views`, 'AAAUSD', '{}', 'BBBUSD', '{}');
    api = await startApi({ ...ids, MAX_SYMBOLS: '2' });
  });

  afterAll(async () => {
    await api.close();
    await redis.quit();
    await dropKeys(REDIS_URL, ids.REDIS_PREFIX);
  });

  it('is seeded from the stored views at boot: a third symbol is refused, the known ones go on', async () => {
    expect((await post(`${api.url}/ingest/tick`, tick({ symbol: 'CCCUSD' }))).status).toBe(422);
    expect((await post(`${api.url}/ingest/tick`, tick({ symbol: 'aaausd' }))).status).toBe(200);
    expect((await redis.smembers(`${ids.REDIS_PREFIX}:symbols`)).sort()).toEqual(['AAAUSD', 'BBBUSD']);
  });
});
