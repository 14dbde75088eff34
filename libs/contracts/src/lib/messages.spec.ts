import fc from 'fast-check';
import { TICK_RECEIVED_JSON_HEAD, tickReceivedMessage } from './messages';
import type { ReceivedTick } from './tick';

const tickArb: fc.Arbitrary<ReceivedTick> = fc.record(
  {
    symbol: fc.string({ minLength: 1 }),
    price: fc.double({ noNaN: true, noDefaultInfinity: true }),
    volume: fc.double({ noNaN: true, noDefaultInfinity: true }),
    source: fc.string(),
    ts: fc.integer(),
    event_id: fc.string({ minLength: 1 }),
    receivedAt: fc.integer(),
    traceId: fc.string(),
  },
  { requiredKeys: ['symbol', 'price', 'volume', 'source', 'ts', 'event_id', 'receivedAt'] },
);

describe('tick.received as JSON', () => {
  it('is TICK_RECEIVED_JSON_HEAD then the tick’s JSON without its opening brace: the bytes of the message object', () => {
    fc.assert(
      fc.property(tickArb, (tick) => {
        expect(TICK_RECEIVED_JSON_HEAD + JSON.stringify(tick).slice(1)).toBe(JSON.stringify(tickReceivedMessage(tick)));
      }),
    );
  });
});
