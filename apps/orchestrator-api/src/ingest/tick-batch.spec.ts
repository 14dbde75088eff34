import { readBatch, settleBatch, type ReadBatch } from './tick-batch';

const now = Date.now();
const good = (event_id: string) => ({ symbol: 'btcusdt', price: 1, volume: 1, source: 'sim', ts: now, event_id });
const limits = { maxFutureSkewMs: 5_000 };
const stamp = { receivedAt: now, traceId: 't-1' };

const read = (body: unknown) => {
  const batch = readBatch(body, limits, stamp);
  if (!('valid' in batch)) throw new Error('refused');
  return batch as ReadBatch;
};

describe('readBatch', () => {
  it.each([
    ['not an array', {}],
    ['empty', []],
    ['too long', new Array(1001).fill(good('e'))],
  ])('refuses a body %s, counting one invalid', (_name, body) => {
    expect(readBatch(body, limits, stamp)).toEqual({
      message: 'validation failed',
      errors: [{ field: 'body', reason: 'body must be a JSON array of 1–1000 ticks' }],
      invalid: 1,
    });
  });

  it('refuses a body without a valid tick, naming each bad field by position, counting every item', () => {
    expect(readBatch([{ ...good('a'), price: -1 }, 7], limits, stamp)).toEqual({
      message: 'validation failed: no valid tick',
      errors: [
        { field: '[0].price', reason: expect.any(String) },
        { field: '[1].item', reason: expect.any(String) },
      ],
      invalid: 2,
    });
  });

  it('stamps the valid ticks and keeps their positions', () => {
    const batch = read([{ ...good('a'), price: -1 }, good('b')]);
    expect(batch.valid).toEqual([{ index: 1, tick: { ...good('b'), symbol: 'BTCUSDT', ...stamp } }]);
    expect(batch.items[0]).toMatchObject({ index: 0, event_id: 'a', status: 'invalid' });
  });
});

describe('settleBatch', () => {
  it('reports each item, refused ones as invalid (not counted again), and asks for the longest Retry-After', () => {
    const batch = read([{ ...good('a'), price: -1 }, good('b'), good('c'), good('d'), good('e')]);
    const settled = settleBatch(batch, [
      { status: 'accepted' },
      { status: 'duplicate' },
      { status: 'refused', field: 'symbol', reason: 'cap' },
      { status: 'unavailable', reason: 'full', retryAfterS: 5 },
    ]);
    expect(settled.ack).toEqual({
      errors: true,
      accepted: 1,
      duplicate: 1,
      invalid: 2,
      unavailable: 1,
      items: [
        { index: 0, event_id: 'a', status: 'invalid', errors: expect.any(Array) },
        { index: 1, event_id: 'b', status: 'accepted' },
        { index: 2, event_id: 'c', status: 'duplicate' },
        { index: 3, event_id: 'd', status: 'invalid', errors: [{ field: 'symbol', reason: 'cap' }] },
        { index: 4, event_id: 'e', status: 'unavailable', reason: 'full' },
      ],
    });
    expect(settled.invalid).toBe(1);
    expect(settled.retryAfterS).toBe(5);
  });

  it('answers without errors and without Retry-After when every item is stored', () => {
    const settled = settleBatch(read([good('a')]), [{ status: 'accepted' }]);
    expect(settled).toEqual({
      ack: {
        errors: false,
        accepted: 1,
        duplicate: 0,
        invalid: 0,
        unavailable: 0,
        items: [{ index: 0, event_id: 'a', status: 'accepted' }],
      },
      invalid: 0,
    });
  });
});
