import { Redis } from 'ioredis';
import type { OrchestratorApiEnv } from '@md/config';
import { defineScripts, type MdRedis } from '@md/pipeline';
import { RedisKeys } from '@md/redis';
import { dropKeys, isolated, REDIS_URL, sleep } from '@md/testing';
import { CHUNK_READER_MARK, FlushBuffer, GROUP } from '../../src/flush/flush-buffer';
import { unregisteredFlushMetrics } from '../../src/testing/flush-metrics';

/**
 * FlushBuffer against the real Redis: batches larger than the slice it reads and acknowledges
 * at a time (1,000 ticks' worth of entries) come back whole and in order, from new entries and
 * from this consumer's own pending ones, entries of one tick (an api before chunked entries)
 * and of a chunk alike; the buffer's tick count follows; and an entry deleted while pending does
 * not stop the flusher.
 */
jest.setTimeout(60_000);

describe('FlushBuffer (real Redis)', () => {
  const { REDIS_PREFIX } = isolated();
  const env = { REDIS_PREFIX, FLUSH_MAX_BATCH: 2_500, FLUSH_CLAIM_IDLE_MS: 30_000 } as OrchestratorApiEnv;
  const keys = new RedisKeys(env);
  let redis: MdRedis;
  let buffer: FlushBuffer;

  beforeEach(async () => {
    redis = defineScripts(new Redis(REDIS_URL));
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

  /** Entries as mdCommit appends them: one per chunk (field `b`, a JSON array), its ticks counted. */
  async function appendChunks(sizes: number[]): Promise<string[]> {
    const pipeline = redis.pipeline();
    let n = 0;
    for (const size of sizes) {
      const ticks = Array.from({ length: size }, () => ({ event_id: `c${n++}`, symbol: 'BTCUSDT' }));
      pipeline.xadd(keys.buffer(), '*', 'b', JSON.stringify(ticks)).hincrby(keys.bufferCounts(), 'buffered', size);
    }
    return ((await pipeline.exec()) ?? []).filter((_, i) => i % 2 === 0).map(([, id]) => id as string);
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
    await buffer.acknowledge(first);
    // One-tick entries (an older api's, or while an older flusher is live) were never counted: none taken out.
    expect(await redis.hget(keys.bufferCounts(), 'buffered')).toBeNull();
    expect((await buffer.read()).map((e) => e.id)).toEqual(ids.slice(2_500, 5_000));
    await buffer.acknowledge(second);
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
    await buffer.acknowledge(again);
    expect(await pending()).toBe(0);
  });

  it('never asks for a hundred times a batch: one-tick entries read before, then entries of 100, give a batch of FLUSH_MAX_BATCH', async () => {
    await append(3_000);
    const small = await buffer.read();
    expect(small).toHaveLength(2_500);
    await buffer.acknowledge(small);
    await buffer.acknowledge(await buffer.read()); // the last 500
    await appendChunks(Array.from({ length: 60 }, () => 100));
    const large = await buffer.read();
    expect(large).toHaveLength(2_500);
    expect(await pending()).toBe(25);
  });

  it('is a consumer whose name says it reads chunked entries (what ingest looks for before appending them)', () => {
    expect(buffer.consumer.endsWith(CHUNK_READER_MARK)).toBe(true);
  });

  it('reads chunked entries whole, about FLUSH_MAX_BATCH ticks at a time, and counts their ticks out as it acknowledges them', async () => {
    const ids = await appendChunks(Array.from({ length: 60 }, () => 100));
    expect(await buffer.depth()).toBe(6_000);
    expect(await buffer.stats()).toMatchObject({ buffered: 6_000, entries: 60, pending: 0 });

    const first = await buffer.read();
    expect(first).toHaveLength(2_500); // 25 entries of 100
    expect(first[0]).toEqual({ id: ids[0], counted: true, tick: { event_id: 'c0', symbol: 'BTCUSDT' } });
    expect(first[2_499]).toEqual({ id: ids[24], counted: true, tick: { event_id: 'c2499', symbol: 'BTCUSDT' } });
    expect(await buffer.stats()).toMatchObject({ buffered: 6_000, entries: 60, pending: 25 });
    await buffer.acknowledge(first);
    expect(await buffer.stats()).toMatchObject({ buffered: 3_500, entries: 35, pending: 0 });
    // Acknowledged again (a flusher that took the entries over, then the first one came back): counted out once.
    await buffer.acknowledge(first);
    expect(await buffer.depth()).toBe(3_500);

    const second = await buffer.read();
    await buffer.acknowledge(second);
    const third = await buffer.read();
    await buffer.acknowledge(third);
    expect([...second, ...third].map((e) => e.tick?.event_id)).toEqual(Array.from({ length: 3_500 }, (_, i) => `c${2_500 + i}`));
    expect(await buffer.stats()).toMatchObject({ buffered: 0, entries: 0, pending: 0 });
  });

  it('keeps what it cannot read as raw text, an entry or an element, and counts the buffer within what its entries can hold', async () => {
    await append(2);
    const [chunk] = await appendChunks([3]);
    await redis.xadd(keys.buffer(), '*', 'b', '[{"event_id":"ok"},42,"x"]');
    await redis.xadd(keys.buffer(), '*', 'b', 'not json');
    // The one-tick entries were never counted (an older api): the depth still holds one tick per entry.
    expect(await buffer.depth()).toBe(5);
    const rows = await buffer.read();
    expect(rows.map((e) => e.tick?.event_id ?? e.raw)).toEqual(['e0', 'e1', 'c0', 'c1', 'c2', 'ok', '42', '"x"', 'not json']);
    expect(rows.filter((e) => e.id === chunk)).toHaveLength(3);
    await buffer.acknowledge(rows);
    // Taking out more than was counted leaves the count at 0 once the stream is empty.
    expect(await redis.hget(keys.bufferCounts(), 'buffered')).toBe('0');
    expect(await buffer.depth()).toBe(0);
    // A count above what the entries can hold is read as what they can hold.
    await redis.hset(keys.bufferCounts(), 'buffered', 1_000_000);
    await appendChunks([1]);
    expect(await buffer.depth()).toBe(100);
  });
});
