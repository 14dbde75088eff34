export * from './lib/validate-env';
export * from './lib/load-env';
export * from './lib/env.module';
export * from './lib/schemas/service.env';
export * from './lib/schemas/pipeline.env';
export * from './lib/schemas/orchestrator-api.env';
export * from './lib/schemas/consumers.env';
export * from './lib/schemas/feeder.env';
