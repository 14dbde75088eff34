import { Job, type Queue } from 'bullmq';
import { jobIdFor, JobName, type TickChunkJob, type TickJobOptions } from './jobs';
import type { MdPipeline } from './scripts';

/** What an enqueue wrote, so that a failed one can be undone without touching anything else (mdUndoEnqueue). */
export interface QueuedJob {
  /** The job's hash key. */
  key: string;
  /** Its `data` and `timestamp` fields as the add script writes them. */
  data: string;
  timestamp: number;
}

/**
 * Adds the enqueue of `chunk` (job `ticks`, id jobIdFor of its first tick's event_id: unique, as
 * an event_id is stored once) to a MULTI the caller executes, so that the enqueue commits
 * atomically with whatever else the MULTI holds (buffer, publish, dedupe commit).
 * `multi` must come from the queue's own client (`(await queue.client).multi()`): BullMQ
 * defines its add scripts there. EXEC's result for this command is the job id, or BullMQ's
 * negative error code, or an error.
 *
 * This is the one place that relies on BullMQ internals: `Job#addJob(client, parentOpts)`, as
 * BullMQ's own Job.createBulk calls it with a pipeline. It is not public API, so
 * apps/orchestrator-api/test/integration/enqueue-in-multi.integration-spec.ts checks it against
 * the installed BullMQ and the real Redis: a BullMQ upgrade that changes it fails there, not in production.
 */
export function enqueueInMulti(queue: Queue, multi: MdPipeline, chunk: TickChunkJob, options: TickJobOptions): QueuedJob {
  const jobId = jobIdFor(chunk.ticks[0].event_id);
  const job = new Job(queue, JobName.Ticks, chunk, { ...options, jobId }, jobId);
  // On a MULTI the returned promise settles at EXEC; its outcome is read from EXEC's results.
  void Promise.resolve(job.addJob(multi as never, { parentDependenciesKey: '' })).catch(() => undefined);
  return { key: queue.toKey(jobId), data: JSON.stringify(chunk), timestamp: job.timestamp };
}
