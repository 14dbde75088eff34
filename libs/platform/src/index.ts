export * from './lib/errors';
export * from './lib/validation';
export * from './lib/secrets';
export * from './lib/bootstrap';
export * from './lib/api-key.guard';
export * from './lib/rate-limit';
export * from './lib/auth-failures';
export * from './lib/client-address';
