import { BullModule } from '@nestjs/bullmq';
import type { DynamicModule } from '@nestjs/common';

/**
 * The two queues of the pipeline and how a Nest app gets them: each is registered under a fixed
 * name, its Nest injection token (`@InjectQueue(TICKS_QUEUE)`, the same in the api and the
 * consumers), while its name in Redis comes from the validated env (QUEUE_NAME,
 * VIEW_QUEUE_NAME: defaults DEFAULT_QUEUE_NAME, DEFAULT_VIEW_QUEUE_NAME of @md/contracts).
 */

/** The ingest feeds it, calc-a works it (Redis name: QUEUE_NAME, default ticks.received). */
export const TICKS_QUEUE = 'ticks';
/** calc-a feeds it, calc-b works it; the api only reports on it (Redis name: VIEW_QUEUE_NAME, default views.compute). */
export const VIEWS_QUEUE = 'views';

/** The env fields that name the queues in Redis (PipelineEnv of @md/config has them). */
export interface PipelineQueueNames {
  QUEUE_NAME: string;
  VIEW_QUEUE_NAME: string;
}

/**
 * BullMQ appends every job's moves to the queue's events stream (for QueueEvents listeners);
 * nothing here reads it, so it keeps only the last EVENTS_MAX_LEN (BullMQ's default: 10,000)
 * for a person inspecting a queue. Stored in the queue's meta, which every script reads.
 */
const EVENTS_MAX_LEN = 1_000;
const EVENTS_STREAM = { events: { maxLen: EVENTS_MAX_LEN } };

/**
 * Registers both queues under TICKS_QUEUE and VIEWS_QUEUE with their names from `env`, an
 * injectable env class (the app's own schema), on the connection of the app's BullModule.forRoot.
 */
export function registerPipelineQueues(env: abstract new () => PipelineQueueNames): DynamicModule {
  return BullModule.registerQueueAsync(
    { name: TICKS_QUEUE, inject: [env], useFactory: (names: PipelineQueueNames) => ({ name: names.QUEUE_NAME, streams: EVENTS_STREAM }) },
    {
      name: VIEWS_QUEUE,
      inject: [env],
      useFactory: (names: PipelineQueueNames) => ({ name: names.VIEW_QUEUE_NAME, streams: EVENTS_STREAM }),
    },
  );
}
