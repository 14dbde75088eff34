import { Queue, Worker } from 'bullmq';
import { JobName, viewJobOptions, type ViewJob } from '@md/pipeline';
import { redisOptionsFromUrl } from '@md/redis';
import { dropKeys, isolated, REDIS_URL, waitUntil } from '@md/testing';

/**
 * What calc-a relies on when it adds a view job per chunk (viewJobOptions: BullMQ's
 * deduplication with keepLastIfActive), against the installed BullMQ and the real Redis: at most
 * one waiting job per symbol, and an add while the symbol's job runs is never lost (it becomes
 * the one next job), so a change made after calc-b read the state always gets its view.
 */
jest.setTimeout(30_000);

const prefix = `${isolated().REDIS_PREFIX}:bull`;
const connection = redisOptionsFromUrl(REDIS_URL);
const queue = new Queue<ViewJob>('views-dedupe-spec', { connection, prefix });
let worker: Worker<ViewJob> | undefined;

afterAll(async () => {
  await worker?.close();
  await queue.close();
  await dropKeys(REDIS_URL, prefix);
});

const add = (symbol: string, receivedAt: number) => queue.add(JobName.View, { symbol, receivedAt }, viewJobOptions(symbol));

describe('view jobs, one per symbol (real BullMQ)', () => {
  it('keeps one waiting job per symbol however many chunks add one', async () => {
    for (let i = 0; i < 5; i++) await add('BTCUSDT', i);
    await add('ETHUSDT', 0);
    const waiting = await queue.getWaiting();
    expect(waiting.map((job) => job.data.symbol).sort()).toEqual(['BTCUSDT', 'ETHUSDT']);
  });

  it("runs one more job after adds made while the symbol's job ran, and never two at once", async () => {
    const runs: { symbol: string; receivedAt?: number }[] = [];
    let release!: () => void;
    const firstHeld = new Promise<void>((resolve) => (release = resolve));
    const active = new Map<string, number>();
    let maxActivePerSymbol = 0;
    worker = new Worker<ViewJob>(
      queue.name,
      async (job) => {
        const { symbol } = job.data;
        active.set(symbol, (active.get(symbol) ?? 0) + 1);
        maxActivePerSymbol = Math.max(maxActivePerSymbol, active.get(symbol) ?? 0);
        runs.push({ symbol, receivedAt: job.data.receivedAt });
        if (runs.length === 1) await firstHeld;
        active.set(symbol, (active.get(symbol) ?? 1) - 1);
      },
      { connection, prefix, concurrency: 4 },
    );
    await waitUntil(() => runs.length >= 1, 'the first job to start');
    const running = runs[0].symbol;
    // While it runs: three more adds for its symbol.
    for (let i = 10; i < 13; i++) await add(running, i);
    release();
    await waitUntil(() => runs.filter((r) => r.symbol === running).length === 2, 'the one next job');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(runs.filter((r) => r.symbol === running)).toHaveLength(2);
    // The next job is the last add's (keepLastIfActive keeps the latest data).
    expect(runs.filter((r) => r.symbol === running)[1].receivedAt).toBe(12);
    expect(maxActivePerSymbol).toBe(1);
  });
});
