import { Job, type Queue } from 'bullmq';
import { JobName, jobIdFor, type ReceivedTick, type tickJobOptions } from '@md/contracts';
import type { MdPipeline } from '@md/redis';

/** Injection name of the ticks queue; its real name comes from QUEUE_NAME. */
export const TICKS_QUEUE = 'ticks';

// The job id of a tick is shared with the consumers' tests and tools: it lives in @md/contracts.
export { JOB_ID_MARK, jobIdFor } from '@md/contracts';

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
