import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { ConsumersEnv, validateEnv } from '@md/config';
import type { ReceivedTick } from '@md/contracts';
import { CountResult, DedupeState, defineScripts, jobIdFor, JobName, tickJobOptions, type TickChunkJob } from '@md/pipeline';
import { RedisKeys, redisOptionsFromUrl } from '@md/redis';
import { dropKeys, isolated, REDIS_URL, waitUntil } from '@md/testing';
import { CalcAService } from '../../src/calc-a/calc-a.service';

/**
 * A failed tick job replayed from the queue, as the queue admin UI does (Job.retry), must not
 * count its tick twice: the dedupe marker calc-a reads must outlive every job the queue keeps.
 * Real Redis, real BullMQ; calc-a's service with a worker that fails after counting (as when
 * the hand-off to calc-b fails), so the job ends in the failed set with its tick counted.
 */
jest.setTimeout(60_000);

const DEDUPE_TTL_S = 600;
const env = validateEnv(ConsumersEnv, {
  NODE_ENV: 'test',
  REDIS_URL,
  INTERNAL_TOKEN: `internal-${randomUUID()}`,
  DEDUPE_TTL_S: String(DEDUPE_TTL_S),
  LOG_LEVEL: 'silent',
  ...isolated(),
});
const keys = new RedisKeys(env);
const redis = defineScripts(new Redis(REDIS_URL));
const calcA = new CalcAService(redis, keys, env);
const connection = redisOptionsFromUrl(REDIS_URL);
const queue = new Queue(env.QUEUE_NAME, { connection, prefix: keys.bullPrefix });
let worker: Worker | undefined;

afterAll(async () => {
  await worker?.close();
  await queue.close();
  await redis.quit();
  await dropKeys(REDIS_URL, env.REDIS_PREFIX);
});

const tick = (): ReceivedTick => ({
  symbol: 'REPLAY',
  price: 100,
  volume: 2,
  source: 'test',
  ts: Date.now(),
  event_id: `r-${randomUUID()}`,
  receivedAt: Date.now(),
});

describe('replaying a failed tick job', () => {
  it('keeps the marker longer than the job, so a replay counts nothing twice', async () => {
    const sent = tick();
    const marker = keys.dedupe(sent.event_id);
    // The api accepted the tick DEDUPE_TTL_S − 2 s ago: its marker is about to expire.
    await redis.set(marker, DedupeState.Accepted, 'PX', 2_000);
    const options = tickJobOptions(DEDUPE_TTL_S);
    await queue.add(JobName.Ticks, { ticks: [sent] }, { ...options, jobId: jobIdFor(sent.event_id) });

    let runs = 0;
    worker = new Worker(
      env.QUEUE_NAME,
      async (job: Job<TickChunkJob>) => {
        runs += 1;
        await calcA.apply(job.data.ticks[0].symbol, job.data.ticks, job.opts);
        throw new UnrecoverableError('the hand-off to calc-b failed');
      },
      { connection, prefix: keys.bullPrefix },
    );
    await waitUntil(async () => (await queue.getFailedCount()) === 1 && runs === 1, 'the job to fail');
    expect(await redis.hget(keys.calc('REPLAY').state, 'count')).toBe('1');

    // The marker now lives longer than the queue keeps the failed job.
    const job = await Job.fromId<TickChunkJob>(queue, jobIdFor(sent.event_id));
    expect(job?.opts.removeOnFail).toEqual({ age: DEDUPE_TTL_S - 300 });
    expect(await redis.pttl(marker)).toBeGreaterThan(options.removeOnFail.age * 1000);

    // Later (past the api's original expiry), an operator retries it from the admin UI.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await job?.retry('failed');
    await waitUntil(async () => (await queue.getFailedCount()) === 1 && runs === 2, 'the replay to run');
    expect(await redis.hget(keys.calc('REPLAY').state, 'count')).toBe('1');
  });

  it('keeps the marker as long as the JOB says, when the api runs a longer DEDUPE_TTL_S than the consumers', async () => {
    // The api (DEDUPE_TTL_S 86400) keeps failed jobs ~1 day; these consumers run 600 s.
    const sent = tick();
    const apiOptions = tickJobOptions(86_400);
    await queue.add(JobName.Tick, sent, { ...apiOptions, jobId: jobIdFor(sent.event_id) });
    const job = await Job.fromId<ReceivedTick>(queue, jobIdFor(sent.event_id));
    expect(job?.opts.removeOnFail).toEqual({ age: 86_400 - 300 });
    await calcA.apply(sent.symbol, [sent], job?.opts);
    // Past the job's retention, so a replay within it finds the marker (the consumers' 600 s would not).
    expect(await redis.pttl(keys.dedupe(sent.event_id))).toBeGreaterThan(apiOptions.removeOnFail.age * 1000);
    await queue.remove(jobIdFor(sent.event_id));
  });

  it('refuses a tick that would make the sums non-finite, changing nothing, and counts the rest of its chunk', async () => {
    const huge = { ...tick(), symbol: 'HUGE', price: 1e300, volume: 1e10 };
    expect(await calcA.apply('HUGE', [huge])).toEqual({ outcomes: [CountResult.Refused], summary: null });
    expect(await redis.exists(keys.calc('HUGE').state, keys.dedupe(huge.event_id))).toBe(0);
    const fine = { ...tick(), symbol: 'HUGE' };
    const { outcomes, summary } = await calcA.apply('HUGE', [huge, fine]);
    expect(outcomes).toEqual([CountResult.Refused, CountResult.Counted]);
    expect(summary?.tickCount).toBe(1);
    expect(await redis.exists(keys.dedupe(huge.event_id))).toBe(0);
  });
});
