import type { Queue } from 'bullmq';
import { CHUNK_MAX_TICKS, jobIdFor, MIXED_CHUNK_WORKER } from '@md/pipeline';
import {
  basic,
  dropKeys,
  get,
  idleWorker,
  listen,
  post,
  queueOf,
  REDIS_URL,
  startApi,
  tick,
  waitingTicks,
  waitUntil,
  type RunningApi,
} from '../support/harness';

/**
 * The ingest path against the real Redis: what an accepted tick becomes (a BullMQ job and
 * a published message), dedupe (also under concurrency), and that nothing refused leaves
 * a trace in the queue or on the channel.
 */
describe('ingest (real Redis)', () => {
  let api: RunningApi;
  let queue: Queue;
  let channel: Awaited<ReturnType<typeof listen>>;

  beforeAll(async () => {
    api = await startApi();
    queue = queueOf(api);
    channel = await listen(REDIS_URL, api.env.PUBSUB_CHANNEL);
  });

  afterAll(async () => {
    await channel.close();
    await queue.close();
    await api.close();
    await dropKeys(REDIS_URL, api.env.REDIS_PREFIX);
  });

  const waiting = async () => (await waitingTicks(queue)).length;
  const queuedTick = async (eventId: string) => (await waitingTicks(queue)).find((t) => t.event_id === eventId);
  const publishedFor = (eventId: string) => channel.messages.filter((m) => m.event_id === eventId);

  it('enqueues an accepted tick as a job of its symbol with id = jobIdFor(event_id) and publishes tick.received', async () => {
    // An ISO time of an hour ago (older than RETENTION_DAYS would be refused), with milliseconds.
    const iso = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000 + 678).toISOString();
    const sent = tick({ symbol: 'ethusdt', ts: iso });
    const before = Date.now();

    const answer = await post(`${api.url}/ingest/tick`, sent);

    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ event_id: sent.event_id, status: 'accepted' });
    const job = await queue.getJob(jobIdFor(sent.event_id));
    expect(job?.name).toBe('ticks');
    // No calc-a connected that reads jobs of several symbols: one symbol per job, named (see MIXED_CHUNK_WORKER).
    expect(job?.data.symbol).toBe('ETHUSDT');
    expect(job?.data.ticks).toHaveLength(1);
    expect(job?.data.ticks[0]).toMatchObject({
      symbol: 'ETHUSDT',
      price: sent.price,
      volume: sent.volume,
      source: sent.source,
      ts: Date.parse(iso),
      event_id: sent.event_id,
    });
    expect(job?.data.ticks[0].receivedAt).toBeGreaterThanOrEqual(before);
    // BullMQ's events stream, which nothing reads, is kept short (registerPipelineQueues).
    const meta = `${api.env.REDIS_PREFIX}:bull:${api.env.QUEUE_NAME}:meta`;
    expect(await (await queue.client).hget(meta, 'opts.maxLenEvents')).toBe('1000');
    await waitUntil(() => publishedFor(sent.event_id).length === 1, 'the tick.received message');
    const [message] = publishedFor(sent.event_id);
    expect(message).toMatchObject({ type: 'tick.received', symbol: 'ETHUSDT', event_id: sent.event_id });
    expect(message.seq).toMatch(/^\d+-\d+$/);
  });

  it('gives every published message a seq that grows with publish order', async () => {
    const first = tick();
    const second = tick();
    await post(`${api.url}/ingest/tick`, first);
    await post(`${api.url}/ingest/tick`, second);
    await waitUntil(() => publishedFor(second.event_id).length === 1, 'both messages');
    const seq = (id: string) => publishedFor(id)[0].seq.split('-').map(Number) as [number, number];
    const [a, b] = [seq(first.event_id), seq(second.event_id)];
    expect(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])).toBe(true);
  });

  it('answers a repeated event_id as duplicate, without enqueueing or publishing it again', async () => {
    const sent = tick();
    expect((await post(`${api.url}/ingest/tick`, sent)).body.status).toBe('accepted');
    const queued = await waiting();

    const again = await post(`${api.url}/ingest/tick`, { ...sent, price: 1 });

    expect(again.status).toBe(200);
    expect(again.body).toEqual({ event_id: sent.event_id, status: 'duplicate' });
    expect(await waiting()).toBe(queued);
    expect((await queuedTick(sent.event_id))?.price).toBe(sent.price);
    // A marker published after the duplicate proves the channel has caught up.
    const marker = tick();
    await post(`${api.url}/ingest/tick`, marker);
    await waitUntil(() => publishedFor(marker.event_id).length === 1, 'the marker');
    expect(publishedFor(sent.event_id)).toHaveLength(1);
  });

  it('accepts an event_id exactly once when 25 requests race with it', async () => {
    const sent = tick();
    const queued = await waiting();

    const answers = await Promise.all(Array.from({ length: 25 }, () => post(`${api.url}/ingest/tick`, sent)));

    expect(answers.map((a) => a.status)).toEqual(Array(25).fill(200));
    const statuses = answers.map((a) => a.body.status);
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(24);
    expect(await waiting()).toBe(queued + 1);
    const marker = tick();
    await post(`${api.url}/ingest/tick`, marker);
    await waitUntil(() => publishedFor(marker.event_id).length === 1, 'the marker');
    expect(publishedFor(sent.event_id)).toHaveLength(1);
  });

  it('maps event_ids BullMQ would refuse to a marked, escaped job id, keeping the event_id in the data', async () => {
    const sent = tick({ event_id: `42${Date.now()}` });
    expect((await post(`${api.url}/ingest/tick`, sent)).body.status).toBe('accepted');
    expect((await queue.getJob(jobIdFor(sent.event_id)))?.data.ticks[0].event_id).toBe(sent.event_id);
  });

  describe('refusals leave the queue and the channel untouched', () => {
    const big = JSON.stringify(tick({ source: 'x'.repeat(17_000) }));
    const cases: [string, unknown, { raw?: string; contentType?: string; auth?: string | null }, number, string][] = [
      ['a string price', tick({ price: '64250.5' }), {}, 400, 'price'],
      ['a zero price', tick({ price: 0 }), {}, 400, 'price'],
      ['a negative volume', tick({ volume: -1 }), {}, 400, 'volume'],
      ['an overflowing number (1e309)', null, { raw: JSON.stringify(tick()).replace(/"price":[\d.]+/, '"price":1e309') }, 400, 'price'],
      ['an unknown property', tick({ venue: 'x' }), {}, 400, 'venue'],
      ['a missing field', { ...tick(), event_id: undefined }, {}, 400, 'event_id'],
      ['a symbol with SQL in it', tick({ symbol: "a' OR 1=1--" }), {}, 400, 'symbol'],
      ['a symbol with Redis key metacharacters', tick({ symbol: 'a*b{c}' }), {}, 400, 'symbol'],
      ['a timestamp far in the future', tick({ ts: Date.now() + 3_600_000 }), {}, 400, 'ts'],
      ['a timestamp in seconds', tick({ ts: Math.floor(Date.now() / 1000) }), {}, 400, 'ts'],
      ['an array body', [tick()], {}, 400, 'body'],
      ['a JSON scalar body', 42, {}, 400, 'body'],
      ['malformed JSON', null, { raw: '{"symbol":' }, 400, 'body'],
      ['a __proto__ key', null, { raw: '{"__proto__":{"polluted":true}}' }, 400, 'body'],
      ['a text/plain body', null, { raw: JSON.stringify(tick()), contentType: 'text/plain' }, 415, 'body'],
      ['a form body', null, { raw: 'symbol=BTC', contentType: 'application/x-www-form-urlencoded' }, 415, 'body'],
      ['a body over 16 KiB', null, { raw: big }, 413, 'body'],
    ];

    it.each(cases)('%s → %i naming %s', async (_name, body, opts, status, field) => {
      const queued = await waiting();
      const published = channel.messages.length;

      const answer = await post(`${api.url}/ingest/tick`, body, opts);

      expect(answer.status).toBe(status);
      expect(answer.body).toMatchObject({ statusCode: status });
      expect(answer.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(answer.body.errors.every((e: { reason: string }) => typeof e.reason === 'string' && e.reason.length > 0)).toBe(true);
      expect(await waiting()).toBe(queued);
      expect(channel.messages.length).toBe(published);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  describe('authentication', () => {
    const cases: [string, string | null][] = [
      ['no credentials', null],
      ['a wrong password', basic('feeder', 'wrong-password')],
      ['a wrong user', basic('someone', 'integration-secret')],
      ['a password one character short', basic('feeder', 'integration-secre')],
      ['an empty password', basic('feeder', '')],
      ['a malformed header', 'Basic %%%'],
      ['another scheme', 'Bearer integration-secret'],
    ];

    it.each(cases)('%s → the same 401 with a challenge, nothing enqueued', async (_name, auth) => {
      const queued = await waiting();
      const answer = await post(`${api.url}/ingest/tick`, tick(), { auth });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Basic realm="ingest", charset="UTF-8"');
      expect(answer.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'authentication required' });
      expect(await waiting()).toBe(queued);
    });

    it('guards the batch endpoint too', async () => {
      expect((await post(`${api.url}/ingest/ticks`, [tick()], { auth: null })).status).toBe(401);
    });
  });

  describe('POST /ingest/ticks', () => {
    it('stores the good items, reports the bad ones, and dedupes within and across requests', async () => {
      const a = tick();
      const b = tick({ symbol: 'solusdt' });
      const known = tick();
      await post(`${api.url}/ingest/tick`, known);
      const queued = await waiting();

      const answer = await post(`${api.url}/ingest/ticks`, [a, tick({ price: -1 }), b, a, known, 'nope']);

      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ errors: true, accepted: 2, duplicate: 2, invalid: 2, unavailable: 0 });
      expect(answer.body.items).toEqual([
        { index: 0, event_id: a.event_id, status: 'accepted' },
        { index: 1, event_id: expect.any(String), status: 'invalid', errors: [{ field: 'price', reason: 'price must be greater than 0' }] },
        { index: 2, event_id: b.event_id, status: 'accepted' },
        { index: 3, event_id: a.event_id, status: 'duplicate' },
        { index: 4, event_id: known.event_id, status: 'duplicate' },
        { index: 5, status: 'invalid', errors: [{ field: 'item', reason: 'each item must be a JSON object' }] },
      ]);
      expect(await waiting()).toBe(queued + 2);
      expect((await queuedTick(b.event_id))?.symbol).toBe('SOLUSDT');
    });

    describe('jobs of several symbols, only while every calc-a reads them', () => {
      // 250 ticks of three symbols, interleaved.
      const symbols = ['adausdt', 'bnbusdt', 'xrpusdt'];
      const round = () => Array.from({ length: 250 }, (_, k) => tick({ symbol: symbols[(k * 7) % 3] }));
      const grouped = (batch: ReturnType<typeof round>) =>
        symbols.map((symbol) => batch.filter((t) => t.symbol === symbol).map((t) => t.event_id));
      const jobOf = async (eventId: string) => (await queue.getJob(jobIdFor(eventId)))?.data;

      it('cuts a round into jobs of CHUNK_MAX_TICKS ticks of any symbols, each symbol’s together and in order', async () => {
        const worker = await idleWorker(api, MIXED_CHUNK_WORKER);
        try {
          expect(worker.mixed).toBe(true);
          const batch = round();
          expect((await post(`${api.url}/ingest/ticks`, batch)).body).toMatchObject({ errors: false, accepted: 250 });
          // Three jobs (100, 100, 50), not one or more per symbol; no `symbol` set.
          const order = grouped(batch).flat();
          const jobs = [await jobOf(order[0]), await jobOf(order[100]), await jobOf(order[200])];
          expect(jobs.map((data) => data?.ticks.map((t: { event_id: string }) => t.event_id))).toEqual([
            order.slice(0, 100),
            order.slice(100, 200),
            order.slice(200),
          ]);
          expect(jobs.map((data) => data?.symbol)).toEqual([undefined, undefined, undefined]);
        } finally {
          await worker.close();
        }
      });

      it('keeps one symbol per job, named, while a calc-a of an older version is connected', async () => {
        const older = await idleWorker(api, '');
        const newer = await idleWorker(api, MIXED_CHUNK_WORKER);
        try {
          expect(newer.mixed).toBe(false);
          const batch = round();
          expect((await post(`${api.url}/ingest/ticks`, batch)).body).toMatchObject({ errors: false, accepted: 250 });
          for (const [s, ids] of grouped(batch).entries()) {
            const data = await jobOf(ids[0]);
            expect(data?.symbol).toBe(symbols[s].toUpperCase());
            expect(data?.ticks.map((t: { event_id: string }) => t.event_id)).toEqual(ids.slice(0, CHUNK_MAX_TICKS));
          }
        } finally {
          await Promise.all([older.close(), newer.close()]);
        }
      });
    });

    it('takes 1,000 ticks in one request', async () => {
      const queued = await waiting();
      const batch = Array.from({ length: 1000 }, () => tick());
      const answer = await post(`${api.url}/ingest/ticks`, batch);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ errors: false, accepted: 1000 });
      expect(await waiting()).toBe(queued + 1000);
      // Batches stay batches: the request's one symbol in jobs of CHUNK_MAX_TICKS, in order.
      for (let k = 0; k < batch.length; k += CHUNK_MAX_TICKS) {
        const job = await queue.getJob(jobIdFor(batch[k].event_id));
        expect(job?.data.ticks.map((t: { event_id: string }) => t.event_id)).toEqual(
          batch.slice(k, k + CHUNK_MAX_TICKS).map((t) => t.event_id),
        );
      }
    });

    it.each([
      ['an empty array', []],
      ['1,001 items', Array.from({ length: 1001 }, () => tick())],
      ['an object', tick()],
    ])('refuses %s with 400 naming the body', async (_name, body) => {
      const queued = await waiting();
      const answer = await post(`${api.url}/ingest/ticks`, body);
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toEqual([{ field: 'body', reason: 'body must be a JSON array of 1–1000 ticks' }]);
      expect(await waiting()).toBe(queued);
    });

    it('answers 400 naming each item field when no item is valid', async () => {
      const answer = await post(`${api.url}/ingest/ticks`, [tick({ price: 'x' }), tick({ volume: -2 })]);
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toEqual([
        { field: '[0].price', reason: 'price must be a finite number' },
        { field: '[1].volume', reason: 'volume must be greater than or equal to 0' },
      ]);
    });
  });

  describe('observability and docs', () => {
    it('serves liveness and readiness', async () => {
      expect((await get(`${api.url}/health/liveness`)).body).toEqual({ status: 'ok' });
      const ready = await get(`${api.url}/health/readiness`);
      expect(ready.status).toBe(200);
      expect(ready.body.details.redis.status).toBe('up');
    });

    it('counts ingest outcomes and request durations in /metrics', async () => {
      await post(`${api.url}/ingest/tick`, tick({ price: -5 }));
      await post(`${api.url}/ingest/tick`, tick(), { auth: null });
      let text = '';
      await waitUntil(async () => {
        text = (await get(`${api.url}/metrics`)).body as string;
        return /md_ingest_ticks_total\{[^}]*outcome="accepted"[^}]*\} [1-9]/.test(text);
      }, 'the accepted counter');
      for (const outcome of ['accepted', 'duplicate', 'invalid', 'unauthorized']) {
        expect(text).toMatch(new RegExp(`md_ingest_ticks_total\\{[^}]*outcome="${outcome}"[^}]*\\} [1-9]`));
      }
      expect(text).toMatch(/md_http_request_duration_seconds_count\{[^}]*route="\/ingest\/tick",status="200"\} [1-9]/);
      expect(text).toContain('process_cpu_seconds_total');
    });

    it('describes every ingest endpoint and the Basic Auth scheme in OpenAPI, and serves Swagger UI', async () => {
      const doc = (await get(`${api.url}/docs-json`)).body;
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/ingest/tick', '/ingest/ticks']));
      expect(doc.components.securitySchemes.ingest).toMatchObject({ type: 'http', scheme: 'basic' });
      expect(doc.components.schemas.TickDto.required).toEqual(['symbol', 'price', 'volume', 'source', 'ts', 'event_id']);
      expect(doc.paths['/ingest/tick'].post.responses).toEqual(
        expect.objectContaining({ '200': expect.anything(), '400': expect.anything(), '401': expect.anything(), '503': expect.anything() }),
      );
      const ui = await get(`${api.url}/docs`);
      expect(ui.status).toBe(200);
      expect(String(ui.body)).toContain('swagger-ui');
    });
  });
});
