import type { Tick } from '@md/contracts';

/**
 * Test data for the calc, as the secondary entry point @md/market-calc/testing: the specs of
 * this lib and the consumers' script tests build their ticks alike. Shipped code never imports it.
 */

/** A BTCUSDT tick from source `test`. */
export const tick = (ts: number, price: number, volume: number, event_id: string): Tick => ({
  symbol: 'BTCUSDT',
  price,
  volume,
  source: 'test',
  ts,
  event_id,
});
