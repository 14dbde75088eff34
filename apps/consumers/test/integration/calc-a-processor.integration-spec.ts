import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Queue, Worker, type Job } from 'bullmq';
import { Counter, Histogram, Registry } from 'prom-client';
import { ConsumersEnv, validateEnv } from '@md/config';
import type { ReceivedTick } from '@md/contracts';
import { defineScripts, jobIdFor, JobName, tickJobOptions, type TickChunkJob, type ViewJob } from '@md/pipeline';
import { RedisKeys, redisOptionsFromUrl } from '@md/redis';
import { dropKeys, isolated, REDIS_URL, waitUntil } from '@md/testing';
import { CalcAProcessor } from '../../src/calc-a/calc-a.processor';
import { CalcAService } from '../../src/calc-a/calc-a.service';

/**
 * calc-a's processor when one symbol of a job cannot be applied (its state key holds another
 * type: WRONGTYPE from the script): the job's other symbols are counted and their view jobs
 * added, the job fails with that symbol's error, named after it (several failed symbols' errors joined, as one AggregateError),
 * and BullMQ's retry, once the key is mended, counts the failed symbol and finds the others'
 * ticks counted before. Real Redis, real BullMQ, the real service and processor.
 */
jest.setTimeout(60_000);

const env = validateEnv(ConsumersEnv, {
  NODE_ENV: 'test',
  REDIS_URL,
  INTERNAL_TOKEN: `internal-${randomUUID()}`,
  LOG_LEVEL: 'silent',
  ...isolated(),
});
const keys = new RedisKeys(env);
const redis = defineScripts(new Redis(REDIS_URL));
const connection = redisOptionsFromUrl(REDIS_URL);
const ticksQueue = new Queue<TickChunkJob>(env.QUEUE_NAME, { connection, prefix: keys.bullPrefix });
const views = new Queue<ViewJob>(env.VIEW_QUEUE_NAME, { connection, prefix: keys.bullPrefix });
const registry = new Registry();
const processor = new CalcAProcessor(
  new CalcAService(redis, keys, env),
  views,
  new Counter({ name: 'jobs', help: 'jobs', labelNames: ['processor', 'outcome'], registers: [registry] }),
  new Counter({ name: 'ticks', help: 'ticks', labelNames: ['outcome'], registers: [registry] }),
  new Histogram({ name: 'duration', help: 'duration', labelNames: ['processor'], registers: [registry] }),
);
const failures: string[] = [];
const worker = new Worker<TickChunkJob>(env.QUEUE_NAME, (job: Job<TickChunkJob>) => processor.process(job), {
  connection,
  prefix: keys.bullPrefix,
});
worker.on('failed', (_job, error) => failures.push(error.message));

afterAll(async () => {
  await worker.close();
  await Promise.all([ticksQueue.close(), views.close()]);
  await redis.quit();
  await dropKeys(REDIS_URL, env.REDIS_PREFIX);
});

let n = 0;
const tick = (symbol: string): ReceivedTick => ({
  symbol,
  price: 100 + n,
  volume: 1,
  source: 'test',
  ts: 1_767_225_600_000 + n,
  event_id: `p-${symbol}-${n++}`,
  receivedAt: Date.now(),
});

/** The symbols whose view job waits (or has run) in the views queue. */
async function viewed(): Promise<string[]> {
  const jobs = await views.getJobs(['waiting', 'active', 'completed']);
  return [...new Set(jobs.map((job) => job.data.symbol))].sort();
}

const count = (symbol: string) => redis.hget(keys.calc(symbol).state, 'count');

describe('calc-a processor: one symbol of a job fails', () => {
  it("counts the others and adds their views, fails the job, and the retry counts the failed symbol's ticks once", async () => {
    const [a, b, c] = ['PA', 'PB', 'PC'].map((s) => `${s}-${randomUUID().slice(0, 4)}`);
    await redis.set(keys.calc(b).state, 'not a hash');
    const ticks = [tick(a), tick(b), tick(c), tick(a), tick(b), tick(c)];
    const job = await ticksQueue.add(JobName.Ticks, { ticks }, { ...tickJobOptions(600), jobId: jobIdFor(ticks[0].event_id) });

    await waitUntil(() => failures.length >= 1, 'the first attempt to fail');
    expect(failures[0]).toMatch(new RegExp(`^${b}: WRONGTYPE`));
    expect(await count(a)).toBe('2');
    expect(await count(c)).toBe('2');
    expect(await viewed()).toEqual([a, c].sort());

    // Mended: BullMQ's retry (backoff from 250 ms) runs the whole job again.
    await redis.del(keys.calc(b).state);
    await waitUntil(async () => (await job.getState()) === 'completed', 'the retry to complete');
    const done = await ticksQueue.getJob(job.id ?? '');
    // In the job's order: a and c counted before (duplicates), b counted now.
    expect(done?.returnvalue).toEqual({ outcomes: 'dcddcd' });
    expect([await count(a), await count(b), await count(c)]).toEqual(['2', '2', '2']);
    expect(await viewed()).toEqual([a, b, c].sort());
  });

  it('names every failed symbol in one error when several fail', async () => {
    failures.length = 0;
    const [a, b, c] = ['QA', 'QB', 'QC'].map((s) => `${s}-${randomUUID().slice(0, 4)}`);
    await redis.set(keys.calc(a).state, 'not a hash');
    await redis.set(keys.calc(c).state, 'not a hash');
    const ticks = [tick(a), tick(b), tick(c)];
    const job = await ticksQueue.add(JobName.Ticks, { ticks }, { attempts: 1, jobId: jobIdFor(ticks[0].event_id) });

    await waitUntil(() => failures.length >= 1, 'the job to fail');
    expect(failures[0]).toMatch(new RegExp(`^${a}: WRONGTYPE.*; ${c}: WRONGTYPE`));
    expect((await ticksQueue.getJob(job.id ?? ''))?.failedReason).toBe(failures[0]);
    expect(await count(b)).toBe('1');
  });
});
