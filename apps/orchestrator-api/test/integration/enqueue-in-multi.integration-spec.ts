import { Redis } from 'ioredis';
import { Job, Queue } from 'bullmq';
import type { ReceivedTick } from '@md/contracts';
import {
  defineScripts,
  enqueueInMulti,
  jobIdFor,
  JobName,
  tickJobOptions,
  type MdPipeline,
  type MdRedis,
  type TickChunkJob,
} from '@md/pipeline';
import { dropKeys, isolated, REDIS_URL } from '@md/testing';

/**
 * enqueueInMulti relies on BullMQ internals (Job#addJob on a MULTI, as Job.createBulk uses it
 * with a pipeline). This pins what the ingest relies on against the installed BullMQ and the
 * real Redis, so an upgrade that changes any of it fails here:
 *  - Job.prototype.addJob(client, parentOpts) exists;
 *  - in a MULTI, the add is ONE command whose EXEC result is the job id (the ingest reads each
 *    chunk's fate at its index, and the round's mdCommit after the chunks);
 *  - the job hash is at the returned key with the returned `data` and `timestamp` (what
 *    mdUndoEnqueue compares before deleting a half-written job);
 *  - adding an id that exists adds nothing and still answers the id (a retry after a lost answer).
 */
const prefix = isolated().REDIS_PREFIX;
const redis = defineScripts(new Redis(REDIS_URL, { maxRetriesPerRequest: null }));
const queue = new Queue('enqueue-spec', { connection: redis, prefix: `${prefix}:bull` });
const options = tickJobOptions(86_400);

const tick = (eventId: string): ReceivedTick => ({
  event_id: eventId,
  symbol: 'EURUSD',
  price: 1.1,
  volume: 2,
  ts: Date.UTC(2026, 0, 1),
  source: 'spec',
  receivedAt: Date.now(),
});

/** A chunk of `ticks` (their symbol, EURUSD). */
const chunk = (...ticks: ReceivedTick[]): TickChunkJob => ({ ticks });

async function multi(): Promise<MdPipeline> {
  return ((await queue.client) as unknown as MdRedis).multi() as MdPipeline;
}

afterAll(async () => {
  await queue.close();
  await dropKeys(REDIS_URL, prefix);
  await redis.quit();
});

describe('enqueueInMulti against the installed BullMQ', () => {
  it('finds Job#addJob(client, parentOpts), the internal it calls', () => {
    expect(typeof Job.prototype.addJob).toBe('function');
    expect(Job.prototype.addJob.length).toBe(2);
  });

  it('adds one command to the MULTI, whose EXEC result is the job id, and reports the job it wrote', async () => {
    const sent = chunk(tick('e:1'), tick('e:0'));
    const m = await multi();
    m.set(`${prefix}:before`, 'x');
    const queued = enqueueInMulti(queue, m, sent, options);
    m.set(`${prefix}:after`, 'y');
    const results = await m.exec();

    expect(results).toEqual([
      [null, 'OK'],
      [null, jobIdFor('e:1')],
      [null, 'OK'],
    ]);
    expect(queued.key).toBe(queue.toKey(jobIdFor('e:1')));
    expect(await redis.hmget(queued.key, 'data', 'timestamp', 'name')).toEqual([queued.data, String(queued.timestamp), JobName.Ticks]);

    const job = await Job.fromId<TickChunkJob>(queue, jobIdFor('e:1'));
    expect(job?.data).toEqual(sent);
    expect(job?.opts).toMatchObject({ attempts: options.attempts, backoff: options.backoff, removeOnFail: options.removeOnFail });
    expect(await queue.getWaiting()).toEqual([expect.objectContaining({ id: jobIdFor('e:1') })]);
  });

  it('adds nothing for an id that exists, and still answers the id', async () => {
    const m = await multi();
    enqueueInMulti(queue, m, chunk({ ...tick('e:1'), price: 9 }), options);
    expect(await m.exec()).toEqual([[null, jobIdFor('e:1')]]);
    expect((await Job.fromId<TickChunkJob>(queue, jobIdFor('e:1')))?.data.ticks[0].price).toBe(1.1);
    expect(await queue.getWaitingCount()).toBe(1);
  });

  it('reports a failed add in its own EXEC result, leaving the other commands run', async () => {
    // The job's key taken by another type: BullMQ's add script fails on it.
    await redis.set(queue.toKey(jobIdFor('e:2')), 'not a hash');
    const m = await multi();
    enqueueInMulti(queue, m, chunk(tick('e:2')), options);
    m.set(`${prefix}:beside`, 'z');
    const results = await m.exec();
    const [error, result] = results?.[0] ?? [];
    expect(Boolean(error) || (typeof result === 'number' && result < 0)).toBe(true);
    expect(results?.[1]).toEqual([null, 'OK']);
  });
});
