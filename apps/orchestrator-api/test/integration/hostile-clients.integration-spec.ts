import { Job, QueueKeys } from 'bullmq';
import { referenceView } from '@md/market-calc';
import { defineScripts, jobIdFor, type TickChunkJob } from '@md/pipeline';
import {
  apiForBlock,
  bufferedTicks,
  dropKeys,
  get,
  INTERNAL_TOKEN,
  post,
  queueOf,
  REDIS_URL,
  startApi,
  tick,
  waitUntil,
  type RunningApi,
} from '../support/harness';

/**
 * Hostile or careless clients (issue 15): requests that are valid by their shape but aimed at
 * the pipeline itself. Each one must leave the queue, the buffer and the views intact, and be
 * answered with a 4xx naming the field or a 503 naming the reason, never a 2xx for what is not
 * safely stored. The consumers are not running here: the queue is inspected as it was left.
 */

/**
 * Every key name the pinned BullMQ uses under a queue's prefix: its QueueKeys, plus the
 * suffixes its Lua commands build by themselves (read from node_modules/bullmq/dist/cjs/commands).
 */
const BULLMQ_KEY_NAMES = [
  ...new Set([...Object.keys(new QueueKeys().getKeys('q')).filter(Boolean), 'delay', 'dn', 'metrics', 'lock', 'logs']),
];

describe('event_id cannot reach BullMQ keys', () => {
  const ctx = apiForBlock();

  const queueKey = (name: string) => `${ctx.api.env.REDIS_PREFIX}:bull:${ctx.api.env.QUEUE_NAME}:${name}`;

  /** Type of every structural key of the queue, and the length of the lists and streams. */
  async function shape(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const name of BULLMQ_KEY_NAMES) {
      const type = await ctx.redis.type(queueKey(name));
      if (type === 'none') continue;
      out[name] = type;
    }
    return out;
  }

  it(`an event_id equal to any of BullMQ's ${BULLMQ_KEY_NAMES.length} key names is an ordinary tick with its own job`, async () => {
    const first = [tick(), tick(), tick()];
    for (const t of first) expect((await post(`${ctx.api.url}/ingest/tick`, t)).status).toBe(200);
    const before = await shape();
    expect(before).toMatchObject({
      wait: 'list',
      meta: 'hash',
      events: 'stream',
      id: 'string',
    });

    const hostile = BULLMQ_KEY_NAMES.map((event_id) => tick({ event_id }));
    for (const t of hostile) {
      const answer = await post(`${ctx.api.url}/ingest/tick`, t);
      expect({ event_id: t.event_id, answer: answer.body }).toEqual({
        event_id: t.event_id,
        answer: { event_id: t.event_id, status: 'accepted' },
      });
    }

    // The queue's own keys are what they were (none deleted, none overwritten)…
    expect(await shape()).toEqual(before);
    // …the earlier jobs are still waiting, and every hostile tick (one request each, so one
    // round each) has a real job of its own, named after it.
    const waiting = await ctx.redis.lrange(queueKey('wait'), 0, -1);
    expect(waiting).toHaveLength(first.length + hostile.length);
    const queue = queueOf(ctx.api);
    try {
      for (const t of [...first, ...hostile]) {
        const job = await Job.fromId<TickChunkJob>(queue, jobIdFor(t.event_id));
        expect({ event_id: t.event_id, data: job?.data?.ticks.map((held) => held.event_id) }).toEqual({
          event_id: t.event_id,
          data: [t.event_id],
        });
        expect(waiting).toContain(jobIdFor(t.event_id));
      }
    } finally {
      await queue.close();
    }
  });

  it('ids that differ only in escaping get distinct jobs', async () => {
    const ids = ['a:b', 'a%3Ab', '~a%3Ab', '~a:b', '~x', 'x', '12', '~12', '%', '%25', '~%25', '@x', '@@x', '@%40x', 'x:lock', 'x%3Alock'];
    const sent = ids.map((event_id) => tick({ event_id }));
    // One request each: each tick is the first (the name) of its own job.
    for (const t of sent) expect((await post(`${ctx.api.url}/ingest/tick`, t)).body).toEqual({ event_id: t.event_id, status: 'accepted' });
    expect(new Set(ids.map(jobIdFor)).size).toBe(ids.length);
    const queue = queueOf(ctx.api);
    try {
      for (const t of sent) {
        const job = await Job.fromId<TickChunkJob>(queue, jobIdFor(t.event_id));
        expect({ id: t.event_id, data: job?.data?.ticks.map((held) => held.event_id) }).toEqual({
          id: t.event_id,
          data: [t.event_id],
        });
      }
    } finally {
      await queue.close();
    }
  });

  it('a failed enqueue never deletes a job it did not write', async () => {
    // An accepted tick whose dedupe marker has expired (simulated), still waiting in the queue.
    const sent = tick();
    expect((await post(`${ctx.api.url}/ingest/tick`, sent)).status).toBe(200);
    await ctx.redis.del(`${ctx.api.env.REDIS_PREFIX}:dedupe:${sent.event_id}`);
    const jobKey = queueKey(jobIdFor(sent.event_id));
    const job = await ctx.redis.hgetall(jobKey);
    expect(job.data).toContain(sent.event_id);

    // The resend's enqueue fails before BullMQ even looks for the job (its id counter is broken).
    const idBefore = await ctx.redis.get(queueKey('id'));
    await ctx.redis.set(queueKey('id'), 'not a number');
    try {
      const refused = await post(`${ctx.api.url}/ingest/tick`, sent);
      expect(refused.status).toBe(503);
    } finally {
      await ctx.redis.set(queueKey('id'), idBefore ?? '0');
    }
    expect(await ctx.redis.hgetall(jobKey)).toEqual(job);
  });
});

/** The value of `md_ingest_ticks_total{outcome}` on the api's /metrics. */
async function ingestCount(api: RunningApi, outcome: string): Promise<number> {
  const text = (await get(`${api.url}/metrics`)).body as string;
  const match = new RegExp(`^md_ingest_ticks_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

describe('values that are valid numbers but would break the views', () => {
  const ctx = apiForBlock();

  it.each([
    ['price 1e300', { price: 1e300, volume: 1e10 }, 'price'],
    ['volume 1e308', { volume: 1e308 }, 'volume'],
    ['a denormal price (its change % would overflow)', { price: 5e-324 }, 'price'],
    [`a ts beyond MAX_FUTURE_SKEW_MS (5 s by default)`, { ts: Date.now() + 60_000 }, 'ts'],
  ])('refuses %s with 400 naming the field, single or in a batch, and stores nothing', async (_name, fields, field) => {
    const sent = tick(fields);
    const single = await post(`${ctx.api.url}/ingest/tick`, sent);
    expect(single.status).toBe(400);
    expect(single.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    const batch = await post(`${ctx.api.url}/ingest/ticks`, [sent, tick()]);
    expect(batch.body).toMatchObject({
      accepted: 1,
      invalid: 1,
      items: [{ status: 'invalid', errors: [{ field }] }, { status: 'accepted' }],
    });
    expect(await ctx.redis.exists(`${ctx.api.env.REDIS_PREFIX}:dedupe:${sent.event_id}`)).toBe(0);
  });

  it('accepts the bounds themselves and a ts within the skew', async () => {
    for (const fields of [{ price: 1e9, volume: 1e12 }, { price: 1e-12, volume: 0 }, { ts: Date.now() + 2_000 }]) {
      expect((await post(`${ctx.api.url}/ingest/tick`, tick(fields))).status).toBe(200);
    }
  });

  it('takes the skew from MAX_FUTURE_SKEW_MS', async () => {
    const strict = await startApi({ MAX_FUTURE_SKEW_MS: '0' });
    try {
      const answer = await post(`${strict.url}/ingest/tick`, tick({ ts: Date.now() + 1_000 }));
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toEqual([
        {
          field: 'ts',
          reason: 'ts must not be more than 0 ms ahead of the server clock (MAX_FUTURE_SKEW_MS)',
        },
      ]);
    } finally {
      await strict.close();
      await dropKeys(REDIS_URL, strict.env.REDIS_PREFIX);
    }
  });
});

describe('the internal endpoint', () => {
  const ctx = apiForBlock(
    {},
    {
      seed: (_api, redis) => redis.hset(`${_api.env.REDIS_PREFIX}:calc:{BTCUSDT}:state`, 'count', 5),
    },
  );
  const T0 = Date.UTC(2026, 0, 5);
  const viewOf = (symbol: string, count: number) =>
    referenceView(
      Array.from({ length: count }, (_, i) => ({
        symbol,
        price: 100 + i,
        volume: 1,
        source: 'test',
        ts: T0 + i,
        event_id: `e${i}`,
      })),
      Date.now(),
    );
  const postView = (base: string, body: unknown) =>
    post(`${base}/internal/agg-update`, body, {
      auth: null,
      headers: { 'x-internal-token': INTERNAL_TOKEN },
    });

  it('is not served on the public port: 404 as any unknown route, with the right token too', async () => {
    const answer = await postView(ctx.api.url, {
      symbol: 'BTCUSDT',
      view: viewOf('BTCUSDT', 1),
      ts: Date.now(),
    });
    expect(answer.status).toBe(404);
    expect(await ctx.redis.hexists(`${ctx.api.env.REDIS_PREFIX}:views`, 'BTCUSDT')).toBe(0);
    // …and the internal listener serves nothing but /internal/*.
    expect((await get(`${ctx.api.internalUrl}/symbols`)).status).toBe(404);
    expect((await get(`${ctx.api.internalUrl}/docs-json`)).status).toBe(404);
  });

  it('refuses a tickCount past what calc-a counted (422) or absurd (400), so no post can pin a symbol', async () => {
    const pinned = { ...viewOf('BTCUSDT', 1), tickCount: 1e300 };
    expect(
      (
        await postView(ctx.api.internalUrl, {
          symbol: 'BTCUSDT',
          view: pinned,
          ts: Date.now(),
        })
      ).status,
    ).toBe(400);
    const ahead = { ...viewOf('BTCUSDT', 1), tickCount: 6 };
    const refused = await postView(ctx.api.internalUrl, {
      symbol: 'BTCUSDT',
      view: ahead,
      ts: Date.now(),
    });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      {
        field: 'view.tickCount',
        reason: 'view.tickCount must not exceed the ticks counted for the symbol',
      },
    ]);
    // The real views that follow are stored.
    const real = await postView(ctx.api.internalUrl, {
      symbol: 'BTCUSDT',
      view: viewOf('BTCUSDT', 5),
      ts: Date.now(),
    });
    expect(real.body).toEqual({
      symbol: 'BTCUSDT',
      tickCount: 5,
      stored: true,
    });
  });

  it('upper-cases the symbol as ingest does', async () => {
    await ctx.redis.hset(`${ctx.api.env.REDIS_PREFIX}:calc:{ETHUSDT}:state`, 'count', 2);
    const view = { ...viewOf('ETHUSDT', 2), symbol: 'ethusdt' };
    const answer = await postView(ctx.api.internalUrl, {
      symbol: 'ethusdt',
      view,
      ts: Date.now(),
    });
    expect(answer.body).toEqual({
      symbol: 'ETHUSDT',
      tickCount: 2,
      stored: true,
    });
    expect(await ctx.redis.hexists(`${ctx.api.env.REDIS_PREFIX}:views`, 'ethusdt')).toBe(0);
    expect(JSON.parse((await ctx.redis.hget(`${ctx.api.env.REDIS_PREFIX}:views`, 'ETHUSDT')) ?? '{}').symbol).toBe('ETHUSDT');
  });
});

describe('MAX_SYMBOLS', () => {
  const ctx = apiForBlock({ MAX_SYMBOLS: '3' });

  it('refuses a tick of a new symbol past the cap with 422 naming symbol; known symbols go on', async () => {
    for (const symbol of ['AAA', 'BBB', 'ccc']) expect((await post(`${ctx.api.url}/ingest/tick`, tick({ symbol }))).status).toBe(200);
    const before = await ingestCount(ctx.api, 'symbol_limit');

    const sent = tick({ symbol: 'DDD' });
    const refused = await post(`${ctx.api.url}/ingest/tick`, sent);
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      {
        field: 'symbol',
        reason: 'symbol is new and the limit of 3 symbols (MAX_SYMBOLS) is reached',
      },
    ]);

    const batch = await post(`${ctx.api.url}/ingest/ticks`, [tick({ symbol: 'CCC' }), tick({ symbol: 'EEE' }), sent]);
    expect(batch.status).toBe(200);
    expect(batch.body).toMatchObject({
      accepted: 1,
      invalid: 2,
      items: [
        { status: 'accepted' },
        { status: 'invalid', errors: [{ field: 'symbol' }] },
        { status: 'invalid', errors: [{ field: 'symbol' }] },
      ],
    });

    // Nothing of the refused ticks is stored: no dedupe key, no job, no buffered tick, no new symbol.
    expect(await ctx.redis.exists(`${ctx.api.env.REDIS_PREFIX}:dedupe:${sent.event_id}`)).toBe(0);
    expect(await ctx.redis.smembers(`${ctx.api.env.REDIS_PREFIX}:symbols`)).toEqual(expect.arrayContaining(['AAA', 'BBB', 'CCC']));
    expect(await ctx.redis.scard(`${ctx.api.env.REDIS_PREFIX}:symbols`)).toBe(3);
    expect(await bufferedTicks(ctx.redis, ctx.api.env.REDIS_PREFIX)).toBe(4);
    const queue = queueOf(ctx.api);
    expect(await queue.getJobCountByTypes('waiting')).toBe(4);
    await queue.close();
    await waitUntil(
      async () => (await ingestCount(ctx.api, 'symbol_limit')) === before + 3,
      'md_ingest_ticks_total{outcome="symbol_limit"}',
    );
  });
});

describe('BUFFER_MAX_TICKS', () => {
  const ctx = apiForBlock({ BUFFER_MAX_TICKS: '1000' });

  it('answers 503 with the reason and Retry-After once the flush buffer is full, and trims nothing accepted', async () => {
    const bufferKey = `${ctx.api.env.REDIS_PREFIX}:buffer:ticks`;
    const first = Array.from({ length: 999 }, () => tick());
    expect((await post(`${ctx.api.url}/ingest/ticks`, first)).body).toMatchObject({ accepted: 999 });
    // The last free place goes to the first of these two; the second is refused.
    const [fits, over] = [tick(), tick()];
    const batch = await post(`${ctx.api.url}/ingest/ticks`, [fits, over]);
    expect(batch.status).toBe(503);
    expect(batch.headers.get('retry-after')).toBe('5');
    expect(batch.body).toMatchObject({
      accepted: 1,
      unavailable: 1,
      items: [{ status: 'accepted' }, { status: 'unavailable' }],
    });
    expect(batch.body.items[1].reason).toMatch(/BUFFER_MAX_TICKS/);

    const single = await post(`${ctx.api.url}/ingest/tick`, over);
    expect(single.status).toBe(503);
    expect(single.headers.get('retry-after')).toBe('5');
    expect(single.body.message).toMatch(/flush buffer holds its limit of 1000 ticks \(BUFFER_MAX_TICKS\)/);
    // A resend of an accepted tick is still answered as a duplicate.
    expect((await post(`${ctx.api.url}/ingest/tick`, fits)).body).toEqual({
      event_id: fits.event_id,
      status: 'duplicate',
    });

    // Everything accepted is still buffered (entries of a chunk each: 10 from the batch of 999, 1 from the 2); nothing of the refused tick is stored.
    expect(await bufferedTicks(ctx.redis, ctx.api.env.REDIS_PREFIX)).toBe(1000);
    expect(await ctx.redis.xlen(bufferKey)).toBe(11);
    expect(await ctx.redis.exists(`${ctx.api.env.REDIS_PREFIX}:dedupe:${over.event_id}`)).toBe(0);
    await waitUntil(async () => (await ingestCount(ctx.api, 'buffer_full')) === 2, 'md_ingest_ticks_total{outcome="buffer_full"}');

    // Once the flusher has written some (its acknowledgement: an entry removed, its ticks counted out), the tick is accepted.
    const [[oldest, fields]] = await ctx.redis.xrange(bufferKey, '-', '+', 'COUNT', 1);
    const ticks = (JSON.parse(fields[1]) as unknown[]).length;
    expect(await defineScripts(ctx.redis).mdBufferRemove(bufferKey, `${bufferKey}:counts`, '', oldest, ticks)).toBe(1);
    expect((await post(`${ctx.api.url}/ingest/tick`, over)).status).toBe(200);
  });
});
