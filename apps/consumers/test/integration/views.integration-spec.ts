import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { ReceivedTick, SymbolView, Tick } from '@md/contracts';
import { referenceView, viewMismatch } from '@md/market-calc';
import { JobName } from '@md/pipeline';
import { redisOptionsFromUrl } from '@md/redis';
import { basicAuth, dropKeys, get, isolated, post, REDIS_URL, ServiceProcess, waitUntil } from '@md/testing';

/**
 * The consumers as deployed: built processes against the real Redis, posting to a real
 * orchestrator-api process. After the queues drain, every symbol's stored view must equal
 * the reference computed from the set of unique ticks, whatever the arrival order, the
 * duplicates, the late ticks, the number of replicas, or a replica killed mid-stream.
 */
// Hang guards, not performance claims: these tests move 10,000+ ticks through real processes
// on a 2-core machine that may be busy with other work.
jest.setTimeout(300_000);
const CONVERGE_TIMEOUT_MS = 240_000;

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XAUUSD', 'EURUSD'];
const AUTH = { user: 'feeder', password: 'integration-secret' };

function environment() {
  return {
    ...isolated(),
    REDIS_URL,
    INGEST_USERNAME: AUTH.user,
    INGEST_PASSWORD: AUTH.password,
    INTERNAL_TOKEN: `internal-${randomUUID()}`,
    FLUSH_ENABLED: 'false',
  };
}

/** `perSymbol` ticks per symbol over ~5 minutes of event time, with `late` of them far in the past. */
function makeTicks(perSymbol: number, lateShare: number): Tick[] {
  const start = Date.now() - 6 * 60_000;
  return SYMBOLS.flatMap((symbol, s) =>
    Array.from({ length: perSymbol }, (_, i) => {
      const late = i % Math.round(1 / lateShare) === 0;
      return {
        symbol,
        // Whole seconds, 7 ticks sharing each: heavy ts ties (broken by event_id), and ticks
        // exactly 60 s before the newest, on the window's edge, whatever the final newest is.
        ts: late ? start - 120_000 - i : start + 1000 * Math.floor(i / 7),
        price: Number((100 * (s + 1) + Math.sin(i / 17) * 5 + (i % 7) * 0.01).toFixed(4)),
        volume: i % 11 === 0 ? 0 : Number(((i % 13) * 0.37).toFixed(3)),
        source: `venue-${i % 3}`,
        event_id: `${symbol}-${String(i).padStart(5, '0')}-${randomUUID().slice(0, 6)}`,
      };
    }),
  );
}

function shuffle<T>(list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

async function ingest(apiUrl: string, ticks: Tick[]): Promise<void> {
  const batches = Array.from({ length: Math.ceil(ticks.length / 500) }, (_, k) => ticks.slice(k * 500, k * 500 + 500));
  for (let k = 0; k < batches.length; k += 4) {
    const answers = await Promise.all(
      batches
        .slice(k, k + 4)
        .map((batch) => post(`${apiUrl}/ingest/ticks`, batch, { headers: { authorization: basicAuth(AUTH.user, AUTH.password) } })),
    );
    for (const answer of answers) expect(answer.status).toBe(200);
  }
}

async function views(apiUrl: string): Promise<Map<string, SymbolView>> {
  const result = new Map<string, SymbolView>();
  for (const symbol of SYMBOLS) {
    const answer = await get(`${apiUrl}/symbols/${symbol}`);
    if (answer.status === 200) result.set(symbol, answer.body as SymbolView);
  }
  return result;
}

async function drained(queues: Queue[]): Promise<boolean> {
  for (const queue of queues) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).some((n) => n > 0)) return false;
  }
  return true;
}

/** Every symbol's view has counted every unique tick and the queues are empty. */
async function converge(apiUrl: string, ticks: Tick[], queues: Queue[], timeoutMs = CONVERGE_TIMEOUT_MS) {
  const expected = new Map(SYMBOLS.map((s) => [s, ticks.filter((t) => t.symbol === s)]));
  await waitUntil(
    async () => {
      const current = await views(apiUrl);
      const complete = SYMBOLS.every((s) => current.get(s)?.tickCount === expected.get(s)?.length);
      return complete && (await drained(queues));
    },
    'every view to count every tick',
    timeoutMs,
  );
  const final = await views(apiUrl);
  for (const symbol of SYMBOLS) {
    const mismatch = viewMismatch(final.get(symbol) as SymbolView, referenceView(expected.get(symbol) as Tick[]));
    expect({ symbol, mismatch }).toEqual({ symbol, mismatch: undefined });
  }
}

describe('consumers: exact views (real processes, real Redis)', () => {
  const env = environment();
  let api: ServiceProcess;
  const consumers: ServiceProcess[] = [];
  let queues: Queue[];

  beforeAll(async () => {
    api = await ServiceProcess.start('orchestrator-api', env);
    const consumerEnv = {
      ...env,
      ORCHESTRATOR_URL: api.internalUrl,
      CALC_A_CONCURRENCY: '8',
      CALC_B_CONCURRENCY: '8',
      WORKER_LOCK_MS: '2000',
    };
    consumers.push(await ServiceProcess.start('consumers', consumerEnv), await ServiceProcess.start('consumers', consumerEnv));
    const connection = redisOptionsFromUrl(REDIS_URL);
    queues = ['ticks.received', 'views.compute'].map((name) => new Queue(name, { connection, prefix: `${env.REDIS_PREFIX}:bull` }));
  });

  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await Promise.all([...consumers, api].map((s) => s.kill('SIGTERM')));
    await dropKeys(REDIS_URL, env.REDIS_PREFIX);
  });

  /** Unique ticks ingested so far, across the tests of this file. */
  const seen: Tick[] = [];

  it('two replicas at concurrency 8: 5 symbols × 2,000 shuffled ticks, 5% duplicates, 5% late → the reference views', async () => {
    const ticks = makeTicks(2000, 0.05);
    seen.push(...ticks);
    const duplicates = shuffle([...ticks]).slice(0, ticks.length / 20);
    // Half the duplicates are resent to the api (it answers `duplicate`); the other half are
    // put straight on the queue as new jobs, as a redelivery would, to reach calc-a itself.
    const resent = duplicates.slice(0, duplicates.length / 2);
    const redelivered = duplicates.slice(duplicates.length / 2);

    await ingest(api.url, shuffle([...ticks, ...resent]));
    await queues[0].addBulk(
      redelivered.map((t) => ({
        name: JobName.Tick,
        data: { ...t, receivedAt: Date.now() } satisfies ReceivedTick,
        opts: { jobId: `redelivery-${t.event_id}` },
      })),
    );

    await converge(api.url, ticks, queues);
  });

  it('a replica killed (SIGKILL) mid-stream loses and double-counts nothing once the other takes over', async () => {
    // Later event times than the first test's ticks, so the windows move on.
    const more = makeTicks(600, 0.05).map((t) => ({ ...t, ts: t.ts + 30_000 }));
    const before = await views(api.url);
    const countedSince = async () => {
      const now = await views(api.url);
      return SYMBOLS.reduce((n, s) => n + (now.get(s)?.tickCount ?? 0) - (before.get(s)?.tickCount ?? 0), 0);
    };

    await ingest(api.url, shuffle([...more]));
    await waitUntil(async () => (await countedSince()) > 200, 'the consumers to be part-way through');
    await consumers[0].kill('SIGKILL');

    // The survivor takes over the killed replica's jobs once their locks expire (2 s here).
    // Every tick of both tests must be counted exactly once: tickCount is exact, not "at least".
    await converge(api.url, [...seen, ...more], queues);
    expect(await countedSince()).toBe(more.length);
    seen.push(...more);
  });

  it('view posts that fail while the api is down are retried with backoff and still count every tick once', async () => {
    const more = makeTicks(300, 0.05).map((t) => ({ ...t, ts: t.ts + 60_000 }));
    await ingest(api.url, shuffle([...more]));
    await api.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    await api.restart();

    await converge(api.url, [...seen, ...more], queues);
    seen.push(...more);
  });
});
