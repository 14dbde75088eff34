export * from './lib/timing';
