import { Redis } from 'ioredis';
import { dropKeys, post, REDIS_URL, startApi, tick, type RunningApi } from '../support/harness';
import { jobIdFor } from '../../src/queue/ticks-queue';

/**
 * A runtime error inside EXEC does not undo the MULTI's other commands. Provoked here for
 * real: the queue's wait list is made a string, so BullMQ's add script fails with WRONGTYPE
 * while the publish and the dedupe commit beside it run. The tick must not be answered 2xx,
 * and a retry with the same event_id must be accepted once the queue is healthy again.
 */
describe('an enqueue that fails inside EXEC', () => {
  let api: RunningApi;
  let redis: Redis;

  beforeAll(async () => {
    api = await startApi();
    redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    await api.close();
    await redis.quit();
    await dropKeys(REDIS_URL, api.env.REDIS_PREFIX);
  });

  it('answers 503, forgets the event_id, and accepts the retry', async () => {
    const waitKey = `${api.env.REDIS_PREFIX}:bull:${api.env.QUEUE_NAME}:wait`;
    const sent = tick();
    await redis.set(waitKey, 'not a list');

    const refused = await post(`${api.url}/ingest/tick`, sent);

    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await redis.exists(`${api.env.REDIS_PREFIX}:dedupe:${sent.event_id}`)).toBe(0);

    await redis.del(waitKey);
    const retried = await post(`${api.url}/ingest/tick`, sent);

    expect(retried.body).toEqual({ event_id: sent.event_id, status: 'accepted' });
    expect(await redis.lrange(waitKey, 0, -1)).toEqual([jobIdFor(sent.event_id)]);
  });
});
