export * from './lib/observability.module';
export * from './lib/http-metrics';
export * from './lib/logger-options';
