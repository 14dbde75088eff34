export * from './lib/order';
export * from './lib/summary';
export * from './lib/view';
export * from './lib/window-state';
