export * from './lib/tokens';
export * from './lib/redis.module';
export * from './lib/redis-keys';
export * from './lib/realtime-publisher';
// The command connection's script-bearing type and registry: the scripts live in @md/pipeline.
export { defineScripts, type MdPipeline, type MdRedis, type MdScripts } from '@md/pipeline/scripts';
