import { Redis } from 'ioredis';
import {
  createDatabase,
  dropKeys,
  bufferedTicks,
  freePort,
  get,
  isolated,
  post,
  REDIS_URL,
  ServiceProcess,
  startApi,
  TcpProxy,
  tick,
  USER,
  PASSWORD,
  INTERNAL_TOKEN,
  waitUntil,
} from '../support/harness';

/**
 * FlushModule against the real Redis and a database of each test's own: every accepted tick
 * reaches md_ticks exactly once, whatever dies when; nothing is lost while Postgres is away.
 */
jest.setTimeout(120_000);

type Database = Awaited<ReturnType<typeof createDatabase>>;

async function rows(db: Database): Promise<{ total: number; distinct: number }> {
  const {
    rows: [r],
  } = await db.query('SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS distinct FROM md_ticks');
  return r;
}

async function ingestAll(url: string, count: number): Promise<string[]> {
  const ticks = Array.from({ length: count }, () => tick({ symbol: 'ethusdt' }));
  for (let k = 0; k < count; k += 500) {
    const answer = await post(`${url}/ingest/ticks`, ticks.slice(k, k + 500));
    expect(answer.body).toMatchObject({ errors: false });
  }
  return ticks.map((t) => t.event_id);
}

async function bufferLength(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL);
  const length = await bufferedTicks(redis, prefix);
  await redis.quit();
  return length;
}

describe('flush: Redis buffer → Postgres (real Redis, real Postgres)', () => {
  let db: Database;
  const prefixes: string[] = [];

  beforeEach(async () => {
    db = await createDatabase();
  });

  afterEach(async () => {
    await db.drop();
    for (const prefix of prefixes.splice(0)) await dropKeys(REDIS_URL, prefix);
  });

  it('writes every accepted tick exactly once, with its fields, and empties the buffer', async () => {
    const api = await startApi({ PG_URL: db.url, FLUSH_ENABLED: 'true', FLUSH_INTERVAL_MS: '200', FLUSH_MAX_BATCH: '700' });
    prefixes.push(api.env.REDIS_PREFIX);
    try {
      const ids = await ingestAll(api.url, 3000);
      // Resending some: answered duplicate, never written twice.
      await post(
        `${api.url}/ingest/ticks`,
        ids.slice(0, 50).map((event_id) => tick({ event_id })),
      );

      await waitUntil(
        async () => (await rows(db).catch(() => ({ total: 0 }))).total === 3000 && (await bufferLength(api.env.REDIS_PREFIX)) === 0,
        'all rows',
      );
      expect(await rows(db)).toEqual({ total: 3000, distinct: 3000 });
      const {
        rows: [row],
      } = await db.query('SELECT symbol, volume, extract(epoch from ts) * 1000 AS ts FROM md_ticks WHERE event_id = $1', [ids[7]]);
      expect(row).toMatchObject({ symbol: 'ETHUSDT', volume: 0.25 });
      const ready = await get(`${api.url}/health/readiness`);
      expect(ready.body.details.flush).toMatchObject({ status: 'up', postgres: 'up', lastError: null });
      const metrics = (await get(`${api.url}/metrics`)).body as string;
      expect(metrics).toMatch(/md_flush_rows_total\{result="written"[^}]*\} 3000/);
    } finally {
      await api.close();
    }
  });

  it('reads and acknowledges the buffer on a connection of its own: ingest never waits behind a batch', async () => {
    const api = await startApi({ PG_URL: db.url, FLUSH_ENABLED: 'true', FLUSH_INTERVAL_MS: '100' });
    prefixes.push(api.env.REDIS_PREFIX);
    const buffer = `${api.env.REDIS_PREFIX}:buffer:ticks`;
    const redis = new Redis(REDIS_URL);
    const monitor = await redis.monitor(); // a connection of its own
    const seen: { command: string; keys: string[]; source: string }[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) =>
      seen.push({ command: args[0].toLowerCase(), keys: args.slice(1), source }),
    );
    try {
      await ingestAll(api.url, 200);
      await waitUntil(
        async () => (await rows(db).catch(() => ({ total: 0 }))).total === 200 && (await bufferLength(api.env.REDIS_PREFIX)) === 0,
        'all rows',
      );
      // Connections by address (MONITOR names the sender's address; "lua" inside a script).
      const names = new Map(
        String(await redis.client('LIST'))
          .split('\n')
          .map((line: string) => [/ addr=(\S+)/.exec(line)?.[1], / name=(\S*)/.exec(line)?.[1]] as const),
      );
      const senders = (match: (entry: (typeof seen)[number]) => boolean) => [
        ...new Set(seen.filter(match).map((e) => names.get(e.source))),
      ];
      const onBuffer =
        (...commands: string[]) =>
        (e: (typeof seen)[number]) =>
          commands.includes(e.command) && e.keys.includes(buffer);
      expect(senders(onBuffer('xreadgroup', 'xautoclaim', 'xack', 'xdel'))).toEqual(['md-flush']);
      const script = (e: (typeof seen)[number]) => ['evalsha', 'eval'].includes(e.command) && e.keys.includes(buffer);
      // Ingest's commit script (its keys: the buffer, its counts, the history stream…) appends to the buffer, from the command connection.
      const history = `${api.env.REDIS_PREFIX}:history:${api.env.PUBSUB_CHANNEL}`;
      expect(senders((e) => script(e) && e.keys.includes(history))).toEqual(['md-commands']);
      // The flusher's acknowledgement (mdBufferRemove, in the group) and depth (mdBufferDepth), from its own.
      expect(senders((e) => script(e) && e.keys.includes('flushers'))).toEqual(['md-flush']);
    } finally {
      monitor.disconnect();
      redis.disconnect();
      await api.close();
    }
  });

  it('keeps accepting while Postgres is unreachable, reports it, and delivers everything when it is back', async () => {
    const proxy = await TcpProxy.create({ host: '127.0.0.1', port: Number(new URL(db.url).port || 5432) }, await freePort());
    const url = new URL(db.url);
    url.port = String(proxy.port);
    const api = await startApi({ PG_URL: url.toString(), FLUSH_ENABLED: 'true', FLUSH_INTERVAL_MS: '200' });
    prefixes.push(api.env.REDIS_PREFIX);
    try {
      const ids = await ingestAll(api.url, 1000);
      await waitUntil(
        async () => (await get(`${api.url}/health/readiness`)).body.details?.flush?.postgres === 'unreachable',
        'readiness to report Postgres',
      );
      const ready = await get(`${api.url}/health/readiness`);
      expect(ready.status).toBe(200);
      expect(await bufferLength(api.env.REDIS_PREFIX)).toBe(1000);

      await proxy.open();
      await waitUntil(async () => (await rows(db).catch(() => ({ total: 0 }))).total === ids.length, 'the backlog to drain', 60_000);
      expect(await rows(db)).toEqual({ total: 1000, distinct: 1000 });
      await waitUntil(async () => (await bufferLength(api.env.REDIS_PREFIX)) === 0, 'the buffer to empty');
    } finally {
      await api.close();
      await proxy.close();
    }
  });

  it('isolates a row Postgres refuses in the dead-letter table and commits the rest of its batch', async () => {
    const api = await startApi({ PG_URL: db.url, FLUSH_ENABLED: 'true', FLUSH_INTERVAL_MS: '200' });
    prefixes.push(api.env.REDIS_PREFIX);
    try {
      await waitUntil(async () => (await get(`${api.url}/health/readiness`)).body.details?.flush?.postgres === 'up', 'the database');
      // A buffered tick that would break md_ticks' CHECK (price > 0), and one that is not JSON:
      // neither can come through ingest validation, so they are put in the buffer directly.
      const redis = new Redis(REDIS_URL);
      const good = Array.from({ length: 20 }, () => ({ ...tick(), ts: Date.now(), receivedAt: Date.now() }));
      const poison = { ...tick(), price: -1, ts: Date.now(), receivedAt: Date.now() };
      const stream = `${api.env.REDIS_PREFIX}:buffer:ticks`;
      for (const t of [...good.slice(0, 10), poison, ...good.slice(10)]) await redis.xadd(stream, '*', 't', JSON.stringify(t));
      await redis.xadd(stream, '*', 't', '{not json');
      await redis.quit();

      await waitUntil(async () => (await bufferLength(api.env.REDIS_PREFIX)) === 0, 'the buffer to empty');
      expect(await rows(db)).toEqual({ total: 20, distinct: 20 });
      const { rows: dead } = await db.query('SELECT event_id, error FROM md_ticks_dead_letter ORDER BY id');
      expect(dead).toHaveLength(2);
      expect(dead).toEqual(
        expect.arrayContaining([
          { event_id: poison.event_id, error: expect.stringContaining('md_ticks_price_check') },
          { event_id: null, error: 'unreadable buffer entry' },
        ]),
      );
    } finally {
      await api.close();
    }
  });

  it('a shutdown under load: every tick answered accepted is in Postgres once the app has closed', async () => {
    // The HTTP server stays open until Nest has run every shutdown hook; a tick accepted after
    // the final flush would be left in the buffer. Ingest stops accepting first (503), drains,
    // and only then does the final flush run.
    const api = await startApi({ PG_URL: db.url, FLUSH_ENABLED: 'true', FLUSH_INTERVAL_MS: '60000' });
    prefixes.push(api.env.REDIS_PREFIX);
    const accepted: string[] = [];
    const refused: number[] = [];
    let closed = false;
    const poster = async () => {
      while (!closed) {
        const one = tick({ symbol: 'solusdt' });
        const answer = await post(`${api.url}/ingest/tick`, one).catch(() => undefined);
        if (answer?.status === 200 && answer.body.status === 'accepted') accepted.push(one.event_id);
        else if (answer) refused.push(answer.status);
        else return; // the server has closed
      }
    };
    try {
      await waitUntil(
        async () => (await get(`${api.url}/health/readiness`)).body.details?.flush?.postgres === 'up',
        'the database',
        60_000,
      );
      const posters = Array.from({ length: 6 }, poster);
      await waitUntil(async () => accepted.length >= 200, '200 accepted ticks');
      await api.close();
      closed = true;
      await Promise.all(posters);
    } finally {
      closed = true;
      await api.close().catch(() => undefined);
    }
    const { rows: stored } = await db.query('SELECT event_id FROM md_ticks');
    const inPostgres = new Set(stored.map((r: { event_id: string }) => r.event_id));
    expect(accepted.filter((id) => !inPostgres.has(id))).toEqual([]);
    expect(inPostgres.size).toBe(accepted.length);
    // Whatever came during the shutdown was refused as not stored (503), never answered 200.
    expect(refused.every((status) => status === 503)).toBe(true);
  });

  describe('a flusher that dies (real processes, SIGKILL at the worst moments)', () => {
    const environment = (pgUrl: string, prefix: Record<string, string>) => ({
      ...prefix,
      REDIS_URL,
      PG_URL: pgUrl,
      INGEST_USERNAME: USER,
      INGEST_PASSWORD: PASSWORD,
      INTERNAL_TOKEN,
      FLUSH_INTERVAL_MS: '1500',
      FLUSH_CLAIM_IDLE_MS: '1000',
    });

    it.each([
      ['after COMMIT, before acknowledging', 'crash-after-commit', 300],
      ['before COMMIT', 'crash-before-commit', 0],
    ])('%s: the next flusher writes the batch, nothing twice, nothing lost', async (_name, fault, rowsAfterCrash) => {
      const prefix = isolated();
      prefixes.push(prefix.REDIS_PREFIX);
      const env = environment(db.url, prefix);
      const faulty = await ServiceProcess.start('orchestrator-api', { ...env, FLUSH_FAULT: fault });
      let next: ServiceProcess | undefined;
      try {
        const ids = await ingestAll(faulty.url, 300);

        expect(await faulty.exited()).toBeNull(); // killed by its own SIGKILL at the fault point
        expect((await rows(db)).total).toBe(rowsAfterCrash);
        expect(await bufferLength(prefix.REDIS_PREFIX)).toBe(300);

        next = await ServiceProcess.start('orchestrator-api', env);
        await waitUntil(async () => (await bufferLength(prefix.REDIS_PREFIX)) === 0, 'the taken-over batch to be written', 60_000);
        expect(await rows(db)).toEqual({ total: ids.length, distinct: ids.length });
      } finally {
        await faulty.kill('SIGKILL');
        await next?.kill();
      }
    });

    it('SIGTERM flushes what is buffered before exiting', async () => {
      const prefix = isolated();
      prefixes.push(prefix.REDIS_PREFIX);
      const api = await ServiceProcess.start('orchestrator-api', { ...environment(db.url, prefix), FLUSH_INTERVAL_MS: '60000' });
      try {
        await waitUntil(
          async () => (await get(`${api.url}/health/readiness`)).body.details?.flush?.postgres === 'up',
          'the database',
          60_000,
        );
        await ingestAll(api.url, 400);
        expect((await rows(db)).total).toBe(0);

        await api.kill('SIGTERM'); // Nest shuts down cleanly, then re-raises the signal
      } finally {
        await api.kill('SIGKILL');
      }

      expect(await rows(db)).toEqual({ total: 400, distinct: 400 });
      expect(await bufferLength(prefix.REDIS_PREFIX)).toBe(0);
    });
  });
});
