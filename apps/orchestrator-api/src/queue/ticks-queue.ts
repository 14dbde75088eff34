import { Job, type Queue } from 'bullmq';
import { JobName, type ReceivedTick, type tickJobOptions } from '@md/contracts';
import type { MdPipeline } from '@md/redis';

/** Injection name of the ticks queue; its real name comes from QUEUE_NAME. */
export const TICKS_QUEUE = 'ticks';

/**
 * Marks every job id of a tick. BullMQ keeps a job as `<queue prefix><job id>` beside its own
 * keys (`wait`, `meta`, `events`, `id`, `de`, `stalled-check`, …, all lower-case words, `-`
 * and `:`), so a client's id used as it is could name one of them (`event_id: "wait"` turned
 * the enqueue into a WRONGTYPE on the waiting list). No BullMQ key name starts with '@', in
 * this version or any: they are identifiers. (Checked against the pinned version's keys in
 * ticks-queue.spec.ts.)
 */
export const JOB_ID_MARK = '@';

/**
 * BullMQ job id of a tick: '@' then the event_id with '%' and ':' percent-escaped. One-to-one
 * (the escape is injective and the mark always there), never an integer, never a ':' (both
 * refused by BullMQ as custom ids), so no job id is a key name BullMQ owns, nor another job's
 * sub-key (`<id>:lock`, `<id>:logs`). The consumers never parse job ids: they read the tick
 * from the job's data.
 */
export function jobIdFor(eventId: string): string {
  return `${JOB_ID_MARK}${eventId.replace(/%/g, '%25').replace(/:/g, '%3A')}`;
}

/** The options of every tick job: tickJobOptions(DEDUPE_TTL_S) (see there why they are derived). */
export type TickJobOptions = ReturnType<typeof tickJobOptions>;

/** What an enqueue wrote, so that a failed one can be undone without touching anything else. */
export interface QueuedJob {
  /** The job's hash key. */
  key: string;
  /** Its `data` and `timestamp` fields as the add script writes them. */
  data: string;
  timestamp: number;
}

/**
 * Adds the enqueue of `tick` to a MULTI the caller executes, so that the enqueue commits
 * atomically with whatever else the MULTI holds (publish, dedupe commit). This is how
 * BullMQ's own Job.createBulk adds jobs to a pipeline.
 */
export function queueTickJob(queue: Queue, multi: MdPipeline, tick: ReceivedTick, options: TickJobOptions): QueuedJob {
  const jobId = jobIdFor(tick.event_id);
  const job = new Job(queue, JobName.Tick, tick, { ...options, jobId }, jobId);
  // On a MULTI the returned promise settles at EXEC; its outcome is read from EXEC's results.
  void Promise.resolve(job.addJob(multi as never, { parentDependenciesKey: '' })).catch(() => undefined);
  return { key: queue.toKey(jobId), data: JSON.stringify(tick), timestamp: job.timestamp };
}
