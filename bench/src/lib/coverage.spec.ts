import { type ClientReceipt, coverage, type Seq } from './coverage';

describe('coverage', () => {
  // Seqs as a history stream holds them: several per ms, in order.
  const published: Seq[] = [
    [100, 0],
    [100, 1],
    [101, 0],
    [105, 0],
    [105, 1],
    [105, 2],
    [110, 0],
  ];

  it('counts a client complete when it received every message from its first seq to its newest', () => {
    const receipts: ClientReceipt[] = [
      [100, 0, 110, 0, 7],
      [101, 0, 105, 1, 3],
      [105, 2, 105, 2, 1],
    ];
    expect(coverage(published, receipts)).toEqual({ clients: 3, complete: 3, silent: 0, received: 11, expected: 11, worst: 1 });
  });

  it('finds a client that missed messages, and one that received nothing', () => {
    const receipts: ClientReceipt[] = [[100, 1, 110, 0, 4], [100, 0, 100, 1, 2], null];
    expect(coverage(published, receipts)).toEqual({ clients: 3, complete: 1, silent: 1, received: 6, expected: 8, worst: 4 / 6 });
  });

  it('counts a duplicate above 1, not complete', () => {
    expect(coverage(published, [[100, 0, 101, 0, 4]])).toMatchObject({ complete: 0, received: 4, expected: 3, worst: 4 / 3 });
  });
});
