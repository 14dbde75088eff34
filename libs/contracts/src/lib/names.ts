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
