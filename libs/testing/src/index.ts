export * from './lib/http';
export * from './lib/ports';
export * from './lib/redis';
export * from './lib/services';
export * from './lib/postgres';
export * from './lib/sse';
export * from './lib/event-source';
