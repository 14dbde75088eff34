import { Redis } from 'ioredis';
import { TICK_RECEIVED_JSON_HEAD, tickReceivedMessage } from '@md/contracts';
import { ClaimResult, DedupeState, defineScripts, luaScripts } from '@md/pipeline';
import { dropKeys, isolated, REDIS_URL, waitUntil } from '@md/testing';

/**
 * Every script of the registry against the real Redis: SCRIPT LOAD compiles it (a syntax error
 * fails here, not at the first tick in production), and the dedupe states that the ingest
 * scripts and calc-a hand each other through one key are the ones DedupeState names.
 */
const prefix = isolated().REDIS_PREFIX;
const redis = defineScripts(new Redis(REDIS_URL));

afterAll(async () => {
  await dropKeys(REDIS_URL, prefix);
  await redis.quit();
});

describe('the Lua scripts in Redis', () => {
  it.each(Object.entries(luaScripts()))('%s compiles (SCRIPT LOAD)', async (_, { lua }) => {
    expect(await redis.script('LOAD', lua)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('claim, commit, release and calc-a agree on the dedupe states', async () => {
    const [symbols, buffer, counts, a, b, c] = ['symbols', 'buffer', 'counts', 'dedupe:a', 'dedupe:b', 'dedupe:c'].map(
      (k) => `${prefix}:${k}`,
    );
    const claim = (...keys: string[]) =>
      redis.mdClaim(3 + keys.length, symbols, buffer, counts, ...keys, 5_000, 10, 10, ...keys.map(() => 'SYM'));

    expect(await claim(a, b)).toEqual([ClaimResult.ClaimedNewSymbol, ClaimResult.ClaimedNewSymbol]);
    expect(await redis.get(a)).toBe(DedupeState.Pending);
    expect(await claim(a)).toEqual([ClaimResult.Pending]);

    // The ingest commits a; b's commit fails and is released; release never drops a committed key.
    await redis.set(a, DedupeState.Accepted);
    expect(await redis.mdRelease(2, a, b)).toBe(0);
    expect([await redis.get(a), await redis.exists(b)]).toEqual([DedupeState.Accepted, 0]);
    expect(await claim(a)).toEqual([ClaimResult.Committed]);

    // calc-a counts an accepted tick once, then reads it as counted; the claim still sees it committed.
    const calc = (key: string) =>
      redis.mdCalcA(
        5,
        `${prefix}:st`,
        `${prefix}:last`,
        `${prefix}:win`,
        `${prefix}:px`,
        key,
        60,
        60_000,
        10,
        32,
        1e-9,
        'a',
        '1000',
        '1.5',
        '2',
        'src',
      );
    expect((await calc(a))[0]).toBe('c');
    expect(await redis.get(a)).toBe(DedupeState.Counted);
    expect((await calc(a))[0]).toBe('d');
    expect(await claim(a)).toEqual([ClaimResult.Committed]);

    // A lease whose commit never ran is dropped.
    await redis.set(c, DedupeState.Pending);
    expect(await redis.mdRelease(1, c)).toBe(0);
    expect(await redis.exists(c)).toBe(0);
  });

  it('mdClaim counts the buffer in ticks: BUFFER_MAX_TICKS refuses a tick once the entries hold that many with those claimed before', async () => {
    const [symbols, buffer, counts] = ['symbols', 'buffer', 'counts'].map((k) => `${prefix}:cap:${k}`);
    const keys = ['x', 'y', 'z'].map((k) => `${prefix}:cap:dedupe:${k}`);
    const claim = (bufferMax: number) =>
      redis.mdClaim(3 + keys.length, symbols, buffer, counts, ...keys, 5_000, 10, bufferMax, ...keys.map(() => 'SYM'));
    // One entry of a chunk of 8 ticks, as mdCommit appends it: 2 more fit under a cap of 10.
    await redis.xadd(buffer, '*', 'b', JSON.stringify(Array.from({ length: 8 }, (_, i) => ({ event_id: `old${i}` }))));
    await redis.hset(counts, 'buffered', 8);
    expect(await claim(10)).toEqual([ClaimResult.ClaimedNewSymbol, ClaimResult.ClaimedNewSymbol, ClaimResult.BufferFull]);
    // Entries never counted (an api before chunked entries): one tick each at least, whatever the count says; 2 entries under a cap of 3.
    await redis.del(...keys);
    await redis.hset(counts, 'buffered', 0);
    await redis.xadd(buffer, '*', 't', '{}');
    expect(await claim(3)).toEqual([ClaimResult.ClaimedNewSymbol, ClaimResult.BufferFull, ClaimResult.BufferFull]);
  });

  it('mdCommit buffers each chunk in one entry, then publishes and commits its ticks in arrival order; a chunk whose append fails writes nothing of its ticks, and the others go on', async () => {
    const [buffer, counts, history, a, b, c, d] = ['buffer', 'counts', 'history', 'dedupe:a', 'dedupe:b', 'dedupe:c', 'dedupe:d'].map(
      (k) => `${prefix}:commit:${k}`,
    );
    const channel = `${prefix}:commit:channel`;
    const subscriber = new Redis(REDIS_URL);
    const published: string[] = [];
    subscriber.on('message', (_, text: string) => published.push(text));
    await subscriber.subscribe(channel);
    const ticks = [a, b, c, d].map((eventId, i) => ({
      symbol: i === 1 ? 'OTHER' : 'SYM',
      price: 1.5 + i,
      volume: 2,
      source: 'spec "quoted" ü',
      ts: Date.UTC(2026, 0, 1),
      event_id: eventId,
      receivedAt: Date.UTC(2026, 0, 1, 0, 0, 1),
    }));
    // The round's chunks, by tick in arrival order: a and c in the first, b in the second, d in the third.
    const chunkOf = [1, 2, 1, 3];
    // A stream's ids end at 18446744073709551615-18446744073709551615: room for two more entries.
    const max = '18446744073709551615';
    await redis.xadd(buffer, `${max}-18446744073709551613`, 't', '{}');
    // The dedupe keys as the claim leaves them.
    for (const key of [a, b, c, d]) await redis.set(key, DedupeState.Pending);

    const reply = await redis.mdCommit(
      7,
      buffer,
      counts,
      history,
      a,
      b,
      c,
      d,
      channel,
      100,
      600,
      TICK_RECEIVED_JSON_HEAD,
      'b',
      ...ticks.flatMap((t, k) => [chunkOf[k], JSON.stringify(t)]),
    );

    expect(reply).toEqual([`${max}-18446744073709551614`, `${max}-${max}`, 0, expect.stringContaining('exhausted')]);
    const entries = await redis.xrange(buffer, '-', '+');
    expect(entries.slice(1).map(([, fields]) => fields)).toEqual([
      ['b', JSON.stringify([ticks[0], ticks[2]])],
      ['b', JSON.stringify([ticks[1]])],
    ]);
    expect(await redis.hgetall(counts)).toEqual({ buffered: '3', added: '3' });
    expect([await redis.get(a), await redis.get(b), await redis.get(c), await redis.get(d)]).toEqual([
      DedupeState.Accepted,
      DedupeState.Accepted,
      DedupeState.Accepted,
      DedupeState.Pending,
    ]);
    expect(await redis.ttl(a)).toBeGreaterThan(590);
    // The message of each stored tick, in arrival order, byte for byte what the api published before mdCommit: in the history, then with its seq on the channel.
    const messages = await redis.xrange(history, '-', '+');
    expect(messages.map(([, fields]) => fields)).toEqual(ticks.slice(0, 3).map((t) => ['m', JSON.stringify(tickReceivedMessage(t))]));
    await waitUntil(() => published.length === 3, 'the three messages');
    expect(published).toEqual(messages.map(([id], i) => JSON.stringify({ seq: id, ...tickReceivedMessage(ticks[i]) })));
    await subscriber.quit();
  });

  it('mdCommit with one entry per tick (an older flusher live) appends a chunk whole or not at all, uncounted but in `added`', async () => {
    const [buffer, counts, history] = ['buffer', 'counts', 'history'].map((k) => `${prefix}:legacy:${k}`);
    const keys = ['a', 'b', 'c', 'd', 'e'].map((k) => `${prefix}:legacy:dedupe:${k}`);
    const ticks = keys.map((eventId) => ({ symbol: 'SYM', price: 1, volume: 1, source: 's', ts: 1, event_id: eventId, receivedAt: 2 }));
    // Arrival order a, b, c, d, e; chunks: a and c, then b, then d and e.
    const chunkOf = [1, 2, 1, 3, 3];
    // Room for four more entries: the third chunk's first append succeeds, its second fails.
    const max = '18446744073709551615';
    await redis.xadd(buffer, `${max}-18446744073709551611`, 't', '{}');
    for (const key of keys) await redis.set(key, DedupeState.Pending);

    const reply = await redis.mdCommit(
      3 + keys.length,
      buffer,
      counts,
      history,
      ...keys,
      `${prefix}:legacy:channel`,
      100,
      600,
      TICK_RECEIVED_JSON_HEAD,
      't',
      ...ticks.flatMap((t, k) => [chunkOf[k], JSON.stringify(t)]),
    );

    expect(reply).toEqual([
      `${max}-18446744073709551612 ${max}-18446744073709551613`,
      `${max}-18446744073709551614`,
      0,
      expect.stringContaining('exhausted'),
    ]);
    // The third chunk's first entry was deleted again: only whole chunks stay, one tick per entry.
    expect((await redis.xrange(buffer, '-', '+')).slice(1)).toEqual([
      [`${max}-18446744073709551612`, ['t', JSON.stringify(ticks[0])]],
      [`${max}-18446744073709551613`, ['t', JSON.stringify(ticks[2])]],
      [`${max}-18446744073709551614`, ['t', JSON.stringify(ticks[1])]],
    ]);
    expect(await redis.hgetall(counts)).toEqual({ added: '3' });
    expect(await Promise.all(keys.map((key) => redis.get(key)))).toEqual([
      DedupeState.Accepted,
      DedupeState.Accepted,
      DedupeState.Accepted,
      DedupeState.Pending,
      DedupeState.Pending,
    ]);
    const messages = await redis.xrange(history, '-', '+');
    expect(messages.map(([, [, m]]) => JSON.parse(m).event_id)).toEqual([keys[0], keys[1], keys[2]]);
  });

  it('mdBufferRemove deletes entries and counts their ticks out once; an empty buffer counts 0 ticks', async () => {
    const [buffer, counts] = ['buffer', 'counts'].map((k) => `${prefix}:remove:${k}`);
    const ids: string[] = [];
    for (const size of [100, 20, 5]) {
      const chunk = Array.from({ length: size }, (_, i) => ({ event_id: `e${i}` }));
      ids.push((await redis.xadd(buffer, '*', 'b', JSON.stringify(chunk))) as string);
      await redis.hincrby(counts, 'buffered', size);
    }
    await redis.xgroup('CREATE', buffer, 'g', '0');
    await redis.xreadgroup('GROUP', 'g', 'me', 'STREAMS', buffer, '>');
    expect(await redis.mdBufferDepth(buffer, counts)).toEqual([125, 3]);
    // Acknowledged in the group and deleted: the ticks counted out; the same entry again: nothing.
    expect(await redis.mdBufferRemove(buffer, counts, 'g', ids[0], 100, ids[0], 100)).toBe(1);
    expect(await redis.mdBufferDepth(buffer, counts)).toEqual([25, 2]);
    expect(((await redis.xpending(buffer, 'g')) as [number])[0]).toBe(2);
    // Without a group (ingest's undo): deleted, not acknowledged anywhere.
    expect(await redis.mdBufferRemove(buffer, counts, '', ids[1], 20)).toBe(1);
    expect(await redis.mdBufferDepth(buffer, counts)).toEqual([5, 1]);
    // A count that drifted (an entry taken out as fewer ticks than it held) is forgotten once the stream is empty.
    expect(await redis.mdBufferRemove(buffer, counts, 'g', ids[2], 1)).toBe(1);
    expect(await redis.hget(counts, 'buffered')).toBe('0');
    expect(await redis.mdBufferDepth(buffer, counts)).toEqual([0, 0]);
  });

  it('mdStoreViews stores and publishes the newer views in order, and nothing of a post with a view ahead of its count', async () => {
    const [views, versions, history, stateA, stateB] = ['views', 'versions', 'history', 'a', 'b'].map((k) => `${prefix}:views:${k}`);
    const channel = `${prefix}:views:channel`;
    await redis.hset(stateA, 'count', 5);
    await redis.hset(stateB, 'count', 2);
    const store = (...views_: [string, string, number][]) =>
      redis.mdStoreViews(
        3 + views_.length,
        views,
        versions,
        history,
        ...views_.map(([state]) => state),
        channel,
        100,
        ...views_.flatMap(([, symbol, tickCount]) => [symbol, tickCount, `{"v":${tickCount}}`, `{"m":"${symbol}${tickCount}"}`]),
      );

    // B claims 3 ticks where 2 were counted: the whole post is refused, A's view too.
    expect(await store([stateA, 'A', 4], [stateB, 'B', 3], [stateB, 'B', 9])).toEqual([0, -1, -1]);
    expect([await redis.exists(views, versions), await redis.xlen(history)]).toEqual([0, 0]);

    // In order: A 4, B 2 stored; A 3 older than A 4; A 5 newer; B 2 again not newer.
    expect(await store([stateA, 'A', 4], [stateB, 'B', 2], [stateA, 'A', 3], [stateA, 'A', 5], [stateB, 'B', 2])).toEqual([1, 1, 0, 1, 0]);
    expect(await redis.hgetall(versions)).toEqual({ A: '5', B: '2' });
    expect(await redis.hgetall(views)).toEqual({ A: '{"v":5}', B: '{"v":2}' });
    expect((await redis.xrange(history, '-', '+')).map(([, fields]) => fields[1])).toEqual(['{"m":"A4"}', '{"m":"B2"}', '{"m":"A5"}']);
    // A symbol calc-a has not counted yet takes a view of 0 ticks, nothing more.
    expect(await store([`${prefix}:views:none`, 'C', 1])).toEqual([-1]);
    expect(await store([`${prefix}:views:none`, 'C', 0])).toEqual([1]);
  });
});
