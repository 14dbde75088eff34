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
  const none = { gone: 0, silent: 0, lagging: 0, resets: 0 };

  it('counts a client complete when it received every message from its first seq to its newest', () => {
    const receipts: ClientReceipt[] = [
      [100, 0, 110, 0, 7, 0],
      [101, 0, 105, 1, 3, 0],
      [105, 2, 105, 2, 1, 0],
    ];
    expect(coverage(published, receipts)).toEqual({ clients: 3, complete: 3, ...none, received: 11, expected: 11, worst: 1 });
  });

  it('finds a client that missed messages, one that received nothing, and one that is gone', () => {
    const receipts: ClientReceipt[] = [[100, 1, 110, 0, 4, 0], [100, 0, 110, 0, 7, 0], null];
    expect(coverage(published, receipts, 4)).toEqual({
      clients: 4,
      complete: 1,
      ...none,
      gone: 1,
      silent: 1,
      received: 11,
      expected: 13,
      worst: 0,
    });
  });

  it('does not count a client complete that got a reset', () => {
    expect(coverage(published, [[100, 0, 110, 0, 7, 1]])).toMatchObject({ complete: 0, resets: 1, worst: 1 });
  });

  it('does not count a client complete that started late or stopped early, though it missed nothing in between', () => {
    const history: Seq[] = [
      [1_000, 0],
      [2_000, 0],
      [3_000, 0],
      [4_000, 0],
    ];
    const receipts: ClientReceipt[] = [
      [1_000, 0, 4_000, 0, 4, 0],
      [1_000, 0, 2_000, 0, 2, 0], // stopped 2 s before the others
      [3_000, 0, 4_000, 0, 2, 0], // started 2 s after them
    ];
    expect(coverage(history, receipts)).toMatchObject({ clients: 3, complete: 1, lagging: 2, worst: 1 });
  });
});
