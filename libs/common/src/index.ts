export * from './lib/json-poster';
export * from './lib/timing';
