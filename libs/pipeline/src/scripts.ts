/**
 * The scripts' registry and the dedupe states alone, without BullMQ: what @md/redis needs for
 * its command connection. A process with no queue (the realtime-gateway) imports this entry
 * point through @md/redis and so neither loads nor ships BullMQ.
 */
export * from './lib/scripts';
export * from './lib/dedupe';
