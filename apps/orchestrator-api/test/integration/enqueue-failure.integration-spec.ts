import { Redis } from 'ioredis';
import { jobIdFor, MIXED_CHUNK_WORKER } from '@md/pipeline';
import {
  apiForBlock,
  bufferEntries,
  dropKeys,
  idleWorker,
  isolated,
  post,
  REDIS_URL,
  startApi,
  tick,
  type RunningApi,
} from '../support/harness';

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

describe("a batch whose one symbol's job fails inside EXEC", () => {
  const ctx = apiForBlock();

  it("answers 503 for that symbol's ticks only, stores the others, and accepts the retry", async () => {
    const { api, redis } = ctx;
    const eth = [tick({ symbol: 'ethusdt' }), tick({ symbol: 'ethusdt' })];
    const btc = [tick({ symbol: 'btcusdt' }), tick({ symbol: 'btcusdt' })];
    // The job key of ETHUSDT's chunk (named after its first tick) taken by another type.
    const jobKey = `${api.env.REDIS_PREFIX}:bull:${api.env.QUEUE_NAME}:${jobIdFor(eth[0].event_id)}`;
    await redis.set(jobKey, 'not a hash');

    const answer = await post(`${api.url}/ingest/ticks`, [eth[0], btc[0], eth[1], btc[1]]);

    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ accepted: 2, unavailable: 2 });
    expect(answer.body.items.map((item: { status: string }) => item.status)).toEqual([
      'unavailable',
      'accepted',
      'unavailable',
      'accepted',
    ]);
    for (const t of eth) expect(await redis.exists(`${api.env.REDIS_PREFIX}:dedupe:${t.event_id}`)).toBe(0);
    // Not buffered for Postgres either: the buffer holds the two stored ticks only.
    const buffered = await bufferEntries(redis, api.env.REDIS_PREFIX);
    expect(buffered.flat().sort()).toEqual(btc.map((t) => t.event_id).sort());
    expect(await redis.hget(`${api.env.REDIS_PREFIX}:buffer:ticks:counts`, 'buffered')).toBe(String(btc.length));
    // A key the add did not write is never deleted by the undo.
    expect(await redis.get(jobKey)).toBe('not a hash');

    await redis.del(jobKey);
    const retried = await post(`${api.url}/ingest/ticks`, [...eth, ...btc]);
    expect(retried.body).toMatchObject({ accepted: 2, duplicate: 2 });
  });
});

describe('a batch one of whose jobs of several symbols fails inside EXEC', () => {
  const ctx = apiForBlock();

  it("answers 503 for that job's ticks only, whatever their symbols, stores the others, and accepts the retry", async () => {
    const { api, redis } = ctx;
    // Jobs of several symbols: only while every calc-a reads them (MIXED_CHUNK_WORKER).
    const worker = await idleWorker(api, MIXED_CHUNK_WORKER);
    expect(worker.mixed).toBe(true);
    const eth = Array.from({ length: 120 }, () => tick({ symbol: 'ethusdt' }));
    const btc = Array.from({ length: 30 }, () => tick({ symbol: 'btcusdt' }));
    // Interleaved; grouped by symbol and cut at CHUNK_MAX_TICKS (100): job 1 holds eth[0..99], job 2
    // eth[100..119] and every btc tick. Job 2's key (named after its first tick) taken by another type.
    const batch = eth.flatMap((t, k) => (k < btc.length ? [t, btc[k]] : [t]));
    const second = new Set([...eth.slice(100), ...btc].map((t) => t.event_id));
    const jobKey = `${api.env.REDIS_PREFIX}:bull:${api.env.QUEUE_NAME}:${jobIdFor(eth[100].event_id)}`;
    await redis.set(jobKey, 'not a hash');

    const answer = await post(`${api.url}/ingest/ticks`, batch);

    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ accepted: 100, unavailable: 50 });
    expect(answer.body.items.map((item: { status: string }) => item.status)).toEqual(
      batch.map((t) => (second.has(t.event_id) ? 'unavailable' : 'accepted')),
    );
    for (const id of second) expect(await redis.exists(`${api.env.REDIS_PREFIX}:dedupe:${id}`)).toBe(0);
    // Not buffered for Postgres either: the buffer holds the stored ticks only.
    const buffered = await bufferEntries(redis, api.env.REDIS_PREFIX);
    expect(buffered.flat().sort()).toEqual(
      eth
        .slice(0, 100)
        .map((t) => t.event_id)
        .sort(),
    );
    // A key the add did not write is never deleted by the undo.
    expect(await redis.get(jobKey)).toBe('not a hash');

    await redis.del(jobKey);
    const retried = await post(`${api.url}/ingest/ticks`, batch);
    expect(retried.body).toMatchObject({ accepted: 50, duplicate: 100 });
    await worker.close();
  });
});

describe('a chunk named after an event_id whose old job is still queued', () => {
  const ctx = apiForBlock();

  it('is refused with 503, never swallowed by BullMQ as an existing job, and the old job stays', async () => {
    const { api, redis } = ctx;
    const a = tick({ symbol: 'adausdt' });
    expect((await post(`${api.url}/ingest/tick`, a)).body.status).toBe('accepted');
    // Its dedupe key expired while the queue was that far behind (simulated), and the sender resends it with another tick.
    await redis.del(`${api.env.REDIS_PREFIX}:dedupe:${a.event_id}`);
    const jobKey = `${api.env.REDIS_PREFIX}:bull:${api.env.QUEUE_NAME}:${jobIdFor(a.event_id)}`;
    const oldJob = await redis.hgetall(jobKey);
    const b = tick({ symbol: 'adausdt' });

    const answer = await post(`${api.url}/ingest/ticks`, [a, b]);

    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ accepted: 0, unavailable: 2 });
    expect(await redis.exists(`${api.env.REDIS_PREFIX}:dedupe:${b.event_id}`)).toBe(0);
    expect(await bufferEntries(redis, api.env.REDIS_PREFIX)).toEqual([[a.event_id]]);
    expect(await redis.hgetall(jobKey)).toEqual(oldJob);
    // B alone (its own chunk, its own name) is stored.
    expect((await post(`${api.url}/ingest/tick`, b)).body.status).toBe('accepted');
  });
});

describe('a batch whose buffer append fails part-way', () => {
  const ctx = apiForBlock();

  it('answers 503 for the ticks of the chunk not buffered, and neither publishes nor marks them', async () => {
    const { api, redis } = ctx;
    const prefix = api.env.REDIS_PREFIX;
    // A stream's ids end at 18446744073709551615-18446744073709551615: room for two more entries.
    await redis.xadd(`${prefix}:buffer:ticks`, '18446744073709551615-18446744073709551613', 't', '{}');
    // Three chunks, one per symbol (no calc-a connected: one symbol per job), one buffer entry each: the third has no room.
    const sent = [tick({ symbol: 'aaausd' }), tick({ symbol: 'bbbusd' }), tick({ symbol: 'aaausd' }), tick({ symbol: 'cccusd' })];

    const answer = await post(`${api.url}/ingest/ticks`, sent);

    expect(answer.status).toBe(503);
    expect(answer.body.items.map((item: { status: string }) => item.status)).toEqual(['accepted', 'accepted', 'accepted', 'unavailable']);
    expect((await bufferEntries(redis, prefix)).slice(1)).toEqual([[sent[0].event_id, sent[2].event_id], [sent[1].event_id]]);
    expect(await redis.hget(`${prefix}:buffer:ticks:counts`, 'buffered')).toBe('3');
    expect(await redis.exists(`${prefix}:dedupe:${sent[3].event_id}`)).toBe(0);
    // Published in arrival order, the stored ticks only.
    const history = await redis.xrange(`${prefix}:history:${api.env.PUBSUB_CHANNEL}`, '-', '+');
    expect(history.map(([, fields]) => JSON.parse(fields[1]).event_id)).toEqual([sent[0].event_id, sent[1].event_id, sent[2].event_id]);
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
