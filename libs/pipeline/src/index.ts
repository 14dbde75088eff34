/**
 * The pipeline protocol, defined once for the api and the consumers: the queues and their Nest
 * tokens, job names, payloads, options and ids, the dedupe key's states, the Lua scripts (one
 * registry) and the enqueue inside the ingest MULTI.
 */
export * from './lib/queues';
export * from './lib/jobs';
export * from './lib/dedupe';
export * from './lib/scripts';
export * from './lib/enqueue';
// The queues' default names are config defaults (browser-safe, read by @md/config): they stay in contracts.
export { DEFAULT_QUEUE_NAME, DEFAULT_VIEW_QUEUE_NAME } from '@md/contracts';
