export * from './lib/tokens';
export * from './lib/redis.module';
export * from './lib/redis-keys';
export * from './lib/realtime-publisher';
export * from './lib/scripts';
