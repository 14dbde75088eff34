import { Redis } from 'ioredis';
import type { OrchestratorApiEnv } from '@md/config';
import { RedisKeys } from '@md/redis';
import { dropKeys, isolated, REDIS_URL, sleep } from '@md/testing';
import { FlushBuffer, GROUP } from '../../src/flush/flush-buffer';
import { unregisteredFlushMetrics } from '../../src/testing/flush-metrics';

/**
 * FlushBuffer against the real Redis: batches larger than the slice it reads and acknowledges
 * at a time (1,000 entries) come back whole and in order, from new entries and from this
 * consumer's own pending ones, and an entry deleted while pending does not stop the flusher.
 */
jest.setTimeout(60_000);

describe('FlushBuffer (real Redis)', () => {
  const { REDIS_PREFIX } = isolated();
  const env = { REDIS_PREFIX, FLUSH_MAX_BATCH: 2_500, FLUSH_CLAIM_IDLE_MS: 30_000 } as OrchestratorApiEnv;
  const keys = new RedisKeys(env);
  let redis: Redis;
  let buffer: FlushBuffer;

  beforeEach(async () => {
    redis = new Redis(REDIS_URL);
    buffer = new FlushBuffer(redis, keys, env, unregisteredFlushMetrics());
    await buffer.createGroup();
  });

  afterEach(async () => {
    redis.disconnect();
    await dropKeys(REDIS_URL, REDIS_PREFIX);
  });

  async function append(count: number): Promise<string[]> {
    const pipeline = redis.pipeline();
    for (let i = 0; i < count; i++) pipeline.xadd(keys.buffer(), '*', 't', JSON.stringify({ event_id: `e${i}`, symbol: 'BTCUSDT' }));
    return ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
  }

  const pending = async () => Number(((await redis.xpending(keys.buffer(), GROUP)) as [number])[0]);

  it('reads batches of FLUSH_MAX_BATCH across slices, own pending entries first, and acknowledges them whole', async () => {
    const ids = await append(6_000);

    const first = await buffer.read();
    expect(first.map((e) => e.id)).toEqual(ids.slice(0, 2_500));
    expect(first[1_234].tick?.event_id).toBe('e1234');
    const second = await buffer.read(false); // the read-ahead: new entries only
    expect(second.map((e) => e.id)).toEqual(ids.slice(2_500, 5_000));
    expect(await pending()).toBe(5_000);

    // After a failed flush: this consumer's own pending entries, in order, then new ones.
    expect((await buffer.read()).map((e) => e.id)).toEqual(ids.slice(0, 2_500));
    await buffer.acknowledge(first.map((e) => e.id));
    expect((await buffer.read()).map((e) => e.id)).toEqual(ids.slice(2_500, 5_000));
    await buffer.acknowledge(second.map((e) => e.id));
    expect(await pending()).toBe(0);
    expect(await redis.xlen(keys.buffer())).toBe(1_000);

    expect((await buffer.read()).map((e) => e.id)).toEqual(ids.slice(5_000));
    expect(await buffer.read(false)).toEqual([]);
  });

  it("claims a dead flusher's idle entries while draining too: 100 at a time, at most once a second, going on from its cursor", async () => {
    const quick = { ...env, FLUSH_CLAIM_IDLE_MS: 1 } as OrchestratorApiEnv;
    const ids = await append(250);
    await new FlushBuffer(redis, keys, quick, unregisteredFlushMetrics()).read(); // read, then never acknowledged
    await sleep(10);
    const live = new FlushBuffer(redis, keys, quick, unregisteredFlushMetrics());
    expect((await live.read(false)).map((e) => e.id)).toEqual(ids.slice(0, 100));
    expect(await live.read(false)).toEqual([]); // within the second: no claim, and nothing new
    await sleep(1_000);
    expect((await live.read(false)).map((e) => e.id)).toEqual(ids.slice(100, 200));
  });

  it('acknowledges an entry deleted while pending (ingest undoing a tick it answered 503) and never returns it', async () => {
    const ids = await append(3);
    await buffer.read();
    await redis.xdel(keys.buffer(), ids[1]);
    const again = await buffer.read(); // own pending first: the deleted one comes back without fields
    expect(again.map((e) => [e.id, e.tick?.event_id])).toEqual([
      [ids[0], 'e0'],
      [ids[2], 'e2'],
    ]);
    expect(await pending()).toBe(2);
    await buffer.acknowledge(again.map((e) => e.id));
    expect(await pending()).toBe(0);
  });
});
