import type { ReceivedTick } from '@md/contracts';
import { copyable } from './tick-copy';

const ts = Date.parse('2026-03-10T12:00:00Z');
const tick: ReceivedTick = { event_id: 'e-1', symbol: 'BTCUSDT', price: 1.5, volume: 2, source: 'Börse-東京', ts, receivedAt: ts + 3 };

describe('copyable: what the COPY path writes exactly as INSERT_TICKS would', () => {
  it('takes what ingest admits, a non-ASCII source included', () => {
    expect(copyable(tick)).toBe(true);
  });

  it.each([
    ['a symbol outside the pattern (two lone surrogates are one text to PostgreSQL)', { symbol: '\ud800' }],
    ['a non-ASCII event_id (its order in JavaScript is not COLLATE "C")', { event_id: 'é-1' }],
    ['a fractional ts', { ts: ts + 0.5 }],
    ['a ts past 2^32 s (2106: to_timestamp of a double is no longer exact to the microsecond)', { ts: 2 ** 32 * 1000 }],
    ['a receivedAt before -2^32 s', { receivedAt: -(2 ** 32) * 1000 }],
    ['a non-finite price', { price: Number.POSITIVE_INFINITY }],
    ['a volume that is not a number', { volume: '1' as unknown as number }],
    ['a source that is not a string', { source: 7 as unknown as string }],
  ])('refuses %s', (_what, change) => {
    expect(copyable({ ...tick, ...change })).toBe(false);
  });
});
