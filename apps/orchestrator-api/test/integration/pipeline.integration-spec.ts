import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { defineScripts } from '@md/pipeline';
import { redisOptionsFromUrl } from '@md/redis';
import { CHUNK_READER_MARK } from '../../src/flush/flush-buffer';
import { IngestService } from '../../src/ingest/ingest.service';
import {
  apiForBlock,
  bufferEntries,
  createDatabase,
  get,
  post,
  REDIS_URL,
  startApi,
  tick,
  waitUntil,
  type RunningApi,
} from '../support/harness';

/** GET /pipeline: both queues' job counts and the flush buffer, read from the real Redis. */
jest.setTimeout(60_000);

const KEY = 'pipeline-test-api-key-0123';
const withKey = { 'x-api-key': KEY };

describe('GET /pipeline (real Redis, no flusher)', () => {
  let api: RunningApi;
  let redis: Redis;

  beforeAll(async () => {
    // Renamed queues: the answer must follow QUEUE_NAME and VIEW_QUEUE_NAME, not the defaults.
    api = await startApi({ API_KEY: KEY, QUEUE_NAME: 'ticks.it', VIEW_QUEUE_NAME: 'views.it' });
    redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    await api.close();
    await redis.quit();
  });

  it('needs the API key when one is set', async () => {
    const answer = await get(`${api.url}/pipeline`);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('ApiKey header="x-api-key"');
    expect((await get(`${api.url}/pipeline`, { 'x-api-key': 'wrong-key-0123456789' })).status).toBe(401);
  });

  it('reports empty queues and an empty buffer before any tick', async () => {
    const before = Date.now();
    const answer = await get(`${api.url}/pipeline`, withKey);
    expect(answer.status).toBe(200);
    const zero = { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
    expect(answer.body).toEqual({
      queues: { 'ticks.it': zero, 'views.it': zero },
      flush: { buffered: 0, entries: 0, pending: 0, oldestBufferedAgeMs: 0 },
      at: expect.any(Number),
    });
    expect(answer.body.at).toBeGreaterThanOrEqual(before);
  });

  it('counts accepted ticks as waiting jobs (one per symbol of a request while no calc-a runs) and buffered ticks (an entry per job), aging with the oldest', async () => {
    const sent = [tick(), tick(), tick(), tick({ symbol: 'ethusdt' }), tick()];
    expect((await post(`${api.url}/ingest/ticks`, sent)).body).toMatchObject({ accepted: 5 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const answer = await get(`${api.url}/pipeline`, withKey);
    expect(answer.body.queues['ticks.it']).toEqual({ waiting: 2, active: 0, delayed: 0, failed: 0, completed: 0 });
    expect(answer.body.flush).toEqual({ buffered: 5, entries: 2, pending: 0, oldestBufferedAgeMs: expect.any(Number) });
    expect(answer.body.flush.oldestBufferedAgeMs).toBeGreaterThanOrEqual(250);
    expect(answer.body.flush.oldestBufferedAgeMs).toBeLessThan(30_000);
  });

  it("counts the view queue's jobs", async () => {
    const views = new Queue('views.it', { connection: redisOptionsFromUrl(REDIS_URL), prefix: `${api.env.REDIS_PREFIX}:bull` });
    await views.add('view', { symbol: 'BTCUSDT' });
    await views.add('view', { symbol: 'ETHUSDT' }, { delay: 60_000 });
    await views.close();
    const answer = await get(`${api.url}/pipeline`, withKey);
    expect(answer.body.queues['views.it']).toEqual({ waiting: 1, active: 0, delayed: 1, failed: 0, completed: 0 });
  });

  it('counts as pending the entries a flusher has read but not acknowledged', async () => {
    // What a flusher does before COMMIT: read through the group (here as a stand-in consumer).
    const stream = `${api.env.REDIS_PREFIX}:buffer:ticks`;
    await redis.xgroup('CREATE', stream, 'flushers', '0', 'MKSTREAM');
    await redis.xreadgroup('GROUP', 'flushers', 'stand-in', 'COUNT', 1, 'STREAMS', stream, '>');
    const answer = await get(`${api.url}/pipeline`, withKey);
    // The entry read holds BTCUSDT's 4 ticks: pending counts entries.
    expect(answer.body.flush).toMatchObject({ buffered: 5, entries: 2, pending: 1 });
  });
});

describe('GET /pipeline (real Redis and Postgres, flushing)', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let api: RunningApi;

  beforeAll(async () => {
    db = await createDatabase();
    api = await startApi({ PG_URL: db.url, FLUSH_ENABLED: 'true', FLUSH_INTERVAL_MS: '100' });
  });

  afterAll(async () => {
    await api.close();
    await db.drop();
  });

  it('shows the buffer drained and when this process last flushed', async () => {
    const before = Date.now();
    expect((await post(`${api.url}/ingest/ticks`, [tick(), tick(), tick()])).body).toMatchObject({ accepted: 3 });
    await waitUntil(async () => {
      const { body } = await get(`${api.url}/pipeline`);
      return body.flush.buffered === 0 && body.flush.lastFlushAt !== undefined;
    }, 'the flush to write the ticks');
    const { body } = await get(`${api.url}/pipeline`);
    expect(body.flush).toEqual({ buffered: 0, entries: 0, pending: 0, oldestBufferedAgeMs: 0, lastFlushAt: expect.any(Number) });
    expect(body.flush.lastFlushAt).toBeGreaterThanOrEqual(before);
    expect(Object.keys(body.queues)).toEqual(['ticks.received', 'views.compute']);
    expect(body.queues['ticks.received'].waiting).toBe(1);
  });
});

describe('the flush buffer during a rolling upgrade (real Redis)', () => {
  const ctx = apiForBlock();

  it('appends one entry per tick, which a flusher of an older version reads, while one is live; one per chunk once none is', async () => {
    const { api, redis } = ctx;
    const stream = `${api.env.REDIS_PREFIX}:buffer:ticks`;
    const ingest = api.app.get(IngestService);
    type Read = [string, [string, string[]][]][];
    // A flusher of the version before chunked entries: a consumer of the group whose name lacks the mark, reading
    // now (every flush of every version starts with a read of its own pending entries, id 0: what keeps it listed as live).
    const older = 'old-host-1-abcdef';
    await redis.xgroup('CREATE', stream, 'flushers', '0', 'MKSTREAM');
    await redis.xreadgroup('GROUP', 'flushers', older, 'STREAMS', stream, '0');
    expect(await ingest.refreshFlushers()).toBe(false);

    const first = [tick(), tick({ symbol: 'ethusdt' }), tick()];
    expect((await post(`${api.url}/ingest/ticks`, first)).body).toMatchObject({ accepted: 3 });
    // What the older flusher reads: an entry per tick, the tick's JSON after the field `t`, which it parses.
    const read = (await redis.xreadgroup('GROUP', 'flushers', older, 'STREAMS', stream, '>')) as Read;
    const fields = read[0][1].map(([, entry]) => entry);
    expect(fields.map(([field]) => field)).toEqual(['t', 't', 't']);
    expect(fields.map(([, json]) => JSON.parse(json).event_id).sort()).toEqual(first.map((t) => t.event_id).sort());
    // Not in the tick count: the depth reads them as one tick per entry.
    expect(await defineScripts(redis).mdBufferDepth(stream, `${stream}:counts`)).toEqual([3, 3]);

    // The older flusher gone (removed from the group, or idle past FLUSHER_LIVE_MS), a current one live: chunked.
    await redis.xgroup('DELCONSUMER', stream, 'flushers', older);
    await redis.xreadgroup('GROUP', 'flushers', `new-host-1-abcdef${CHUNK_READER_MARK}`, 'STREAMS', stream, '0');
    expect(await ingest.refreshFlushers()).toBe(true);
    const second = [tick(), tick()];
    expect((await post(`${api.url}/ingest/ticks`, second)).body).toMatchObject({ accepted: 2 });
    expect((await bufferEntries(redis, api.env.REDIS_PREFIX)).slice(3)).toEqual([second.map((t) => t.event_id)]);
  });
});
