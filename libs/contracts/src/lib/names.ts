/**
 * Names shared by every service: the queues' and channel's default names, message types, and
 * the dedupe timing the config schemas validate. The defaults here are what the config schemas
 * fall back to; deployments may rename queues and channels through env (QUEUE_NAME,
 * PUBSUB_CHANNEL), never through code. The pipeline protocol built on them (queue tokens, job
 * names, payloads, options and ids, the Lua scripts) is @md/pipeline's.
 */
export const DEFAULT_QUEUE_NAME = 'ticks.received';
export const DEFAULT_PUBSUB_CHANNEL = 'realtime:updates';
/** calc-b's queue: calc-a hands it a window summary per tick. */
export const DEFAULT_VIEW_QUEUE_NAME = 'views.compute';

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
 * a tick) and how long a finished tick job is kept, and so can be replayed from the queue
 * (tickJobOptions and tickMarkerTtlS of @md/pipeline):
 * it covers a job's retries (8 attempts, ~32 s of backoff), a stalled job's lock (30 s by
 * default) and the api's clean-up interval (60 s), with room to spare.
 */
export const REPLAY_MARGIN_S = 300;

/** Smallest DEDUPE_TTL_S: window (60 s) + largest MAX_FUTURE_SKEW_MS (60 s) + REPLAY_MARGIN_S, rounded up. */
export const MIN_DEDUPE_TTL_S = 600;
