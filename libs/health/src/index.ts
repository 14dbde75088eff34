export * from './lib/health.module';
export * from './lib/redis.indicator';
