export * from './lib/names';
export * from './lib/tick';
export * from './lib/messages';
export * from './lib/ingest';
export * from './lib/view';
export * from './lib/pipeline';
export * from './lib/stream';
export * from './lib/seq';
