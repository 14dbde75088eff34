/**
 * Names shared by every service: queues, jobs, pub/sub channels and message types.
 * The defaults here are what the config schemas fall back to; deployments may rename
 * queues and channels through env (QUEUE_NAME, PUBSUB_CHANNEL), never through code.
 */
export const DEFAULT_QUEUE_NAME = 'ticks.received';
export const DEFAULT_PUBSUB_CHANNEL = 'realtime:updates';
/** calc-b's queue: calc-a hands it a window summary per tick. */
export const DEFAULT_VIEW_QUEUE_NAME = 'views.compute';

/** BullMQ job names. */
export const JobName = {
  Tick: 'tick',
  View: 'view',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** `type` of every message published on the realtime channel. */
export const MessageType = {
  TickReceived: 'tick.received',
  SymbolUpdated: 'symbol.updated',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** In-process domain events (carried by @nestjs/event-emitter; nothing durable rides on them). */
export const DomainEvent = {
  TicksAccepted: 'tick.accepted',
  TicksDuplicate: 'tick.duplicate',
} as const;

/**
 * Margin between the dedupe marker's life (DEDUPE_TTL_S, renewed by calc-a each time it sees
 * a tick) and how long a finished tick job is kept, and so can be replayed from the queue:
 * it covers a job's retries (8 attempts, ~32 s of backoff), a stalled job's lock (30 s by
 * default) and the api's clean-up interval (60 s), with room to spare.
 */
export const REPLAY_MARGIN_S = 300;

/** Smallest DEDUPE_TTL_S: window (60 s) + largest MAX_FUTURE_SKEW_MS (60 s) + REPLAY_MARGIN_S, rounded up. */
export const MIN_DEDUPE_TTL_S = 600;

/**
 * BullMQ options of a tick job (ticks.received), derived from DEDUPE_TTL_S so that a job is
 * never kept, and so never replayable, once its dedupe marker may be gone: replaying it
 * could count the tick a second time.
 */
export function tickJobOptions(dedupeTtlS: number) {
  const keepS = Math.max(0, dedupeTtlS - REPLAY_MARGIN_S);
  return {
    // The consumers' state, not the job, is the record of a tick: completed jobs go soon.
    removeOnComplete: { age: Math.min(3_600, keepS), count: 10_000 },
    // Failed jobs stay for inspection and replay, while their marker lives.
    removeOnFail: { age: keepS },
    attempts: 8,
    backoff: { type: 'exponential', delay: 250 },
  } as const;
}

/**
 * How long calc-a keeps a tick's dedupe marker: at least as long as the queue may keep, and so
 * replay, the job it came in. Read from the job's own removeOnFail (set by the api from ITS
 * DEDUPE_TTL_S, see tickJobOptions), so an api and consumers configured with different
 * DEDUPE_TTL_S cannot disagree; never less than the consumers' own `fallbackS` (DEDUPE_TTL_S),
 * which is also what a job without a numeric removeOnFail.age gets.
 */
export function tickMarkerTtlS(jobOptions: { removeOnFail?: unknown } | undefined, fallbackS: number): number {
  const removeOnFail = jobOptions?.removeOnFail;
  const age = typeof removeOnFail === 'object' && removeOnFail !== null ? (removeOnFail as { age?: unknown }).age : undefined;
  if (typeof age !== 'number' || !Number.isFinite(age) || age < 0) return fallbackS;
  return Math.max(fallbackS, Math.ceil(age) + REPLAY_MARGIN_S);
}

/**
 * Marks every job id of a tick. BullMQ keeps a job as `<queue prefix><job id>` beside its own
 * keys (`wait`, `meta`, `events`, `id`, `de`, `stalled-check`, …, all lower-case words, `-`
 * and `:`), so a client's id used as it is could name one of them (`event_id: "wait"` turned
 * the enqueue into a WRONGTYPE on the waiting list). No BullMQ key name starts with '@', in
 * this version or any: they are identifiers. (Checked against the pinned version's keys in
 * apps/orchestrator-api/src/queue/ticks-queue.spec.ts.)
 */
export const JOB_ID_MARK = '@';

/**
 * BullMQ job id of a tick: '@' then the event_id with '%' and ':' percent-escaped. One-to-one
 * (the escape is injective and the mark always there), never an integer, never a ':' (both
 * refused by BullMQ as custom ids), so no job id is a key name BullMQ owns, nor another job's
 * sub-key (`<id>:lock`, `<id>:logs`). The one mapping of the api (which enqueues), the tests
 * and tools that look jobs up; the consumers never parse job ids: they read the tick from the
 * job's data.
 */
export function jobIdFor(eventId: string): string {
  return `${JOB_ID_MARK}${eventId.replace(/%/g, '%25').replace(/:/g, '%3A')}`;
}
