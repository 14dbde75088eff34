export * from './lib/random';
export * from './lib/instruments';
export * from './lib/price-model';
export * from './lib/uuidv7';
export * from './lib/tick-generator';
export * from './lib/schedule';
