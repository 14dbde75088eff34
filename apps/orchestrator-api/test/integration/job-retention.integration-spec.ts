import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { tickJobOptions } from '@md/pipeline';
import { redisOptionsFromUrl } from '@md/redis';
import { JobRetention } from '../../src/queue/queue.module';
import { dropKeys, queueOf, REDIS_URL, startApi, waitUntil, type RunningApi } from '../support/harness';

/**
 * The api's every-minute pass over the ticks queue (JobRetention): finished tick jobs older than
 * their retention go even when no new job finishes (BullMQ's removeOnComplete / removeOnFail
 * act only when a later job finishes), so a quiet queue does not keep them, and their event_ids,
 * past DEDUPE_TTL_S. Real Redis, real BullMQ; the pass is called directly, not waited for.
 */
jest.setTimeout(60_000);

describe('JobRetention: finished tick jobs past their age are removed, younger ones stay', () => {
  let api: RunningApi;
  let redis: Redis;

  beforeAll(async () => {
    api = await startApi({ DEDUPE_TTL_S: '900' });
    redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    await api.close();
    await redis.quit();
    await dropKeys(REDIS_URL, api.env.REDIS_PREFIX);
  });

  it.each(['failed', 'completed'] as const)('%s jobs', async (state) => {
    const queue = queueOf(api);
    const options = tickJobOptions(api.env.DEDUPE_TTL_S);
    const ageS = state === 'failed' ? options.removeOnFail.age : options.removeOnComplete.age;
    // Kept by count, not by age, while the worker runs: the age pass is what is tested.
    const ids = [`${state}-old`, `${state}-young`];
    for (const id of ids) await queue.add('tick', { id }, { jobId: id, attempts: 1, removeOnComplete: false, removeOnFail: false });
    const worker = new Worker(
      api.env.QUEUE_NAME,
      async (job: Job) => {
        if (state === 'failed') throw new UnrecoverableError(`refused ${job.id}`);
      },
      { connection: redisOptionsFromUrl(REDIS_URL), prefix: `${api.env.REDIS_PREFIX}:bull` },
    );
    try {
      await waitUntil(async () => (await queue.getJobCountByTypes(state)) === 2, `both jobs ${state}`);
    } finally {
      await worker.close();
    }
    // The old one finished just past its retention age (the set's score is finishedOn).
    const setKey = `${api.env.REDIS_PREFIX}:bull:${api.env.QUEUE_NAME}:${state}`;
    await redis.zadd(setKey, Date.now() - (ageS + 60) * 1000, ids[0]);

    await api.app.get(JobRetention).clean();

    expect(await queue.getJob(ids[0])).toBeUndefined();
    expect((await queue.getJob(ids[1]))?.id).toBe(ids[1]);
    expect(await redis.zrange(setKey, 0, -1)).toEqual([ids[1]]);
    await queue.close();
  });
});
