import { Job, type Queue } from 'bullmq';
import { JobName, type ReceivedTick } from '@md/contracts';
import type { MdPipeline } from '@md/redis';

/** Injection name of the ticks queue; its real name comes from QUEUE_NAME. */
export const TICKS_QUEUE = 'ticks';

/**
 * BullMQ job id of a tick. It is the event_id itself, except for the ids BullMQ refuses
 * (canonical integers, ids containing ':') which are escaped behind a '~' marker; ids that
 * already start with '~' are escaped too, so the mapping stays one-to-one.
 */
export function jobIdFor(eventId: string): string {
  const plain = !eventId.includes(':') && !eventId.startsWith('~') && String(parseInt(eventId, 10)) !== eventId;
  return plain ? eventId : `~${eventId.replace(/%/g, '%25').replace(/:/g, '%3A')}`;
}

const JOB_OPTIONS = {
  // The consumers' state, not the job, is the record of a tick: completed jobs go soon.
  removeOnComplete: { age: 3_600, count: 10_000 },
  // Failed jobs stay for inspection and replay.
  removeOnFail: { age: 7 * 86_400 },
  attempts: 8,
  backoff: { type: 'exponential', delay: 250 },
} as const;

/**
 * Adds the enqueue of `tick` to a MULTI the caller executes, so that the enqueue commits
 * atomically with whatever else the MULTI holds (publish, dedupe commit). This is how
 * BullMQ's own Job.createBulk adds jobs to a pipeline.
 */
export function queueTickJob(queue: Queue, multi: MdPipeline, tick: ReceivedTick): void {
  const jobId = jobIdFor(tick.event_id);
  const job = new Job(queue, JobName.Tick, tick, { ...JOB_OPTIONS, jobId }, jobId);
  // On a MULTI the returned promise settles at EXEC; its outcome is read from EXEC's results.
  void Promise.resolve(job.addJob(multi as never, { parentDependenciesKey: '' })).catch(() => undefined);
}
