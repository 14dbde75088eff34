import { Coalescer } from './coalescer';

describe('Coalescer', () => {
  it('runs the items submitted in one turn together and hands each caller its own results', async () => {
    const runs: number[][] = [];
    const doubled = new Coalescer<number, number>(async (items) => {
      runs.push(items);
      return items.map((n) => n * 2);
    }, 100);
    const [a, b, c] = await Promise.all([doubled.submit([1, 2]), doubled.submit([3]), doubled.submit([4, 5, 6])]);
    expect([a, b, c]).toEqual([[2, 4], [6], [8, 10, 12]]);
    expect(runs).toEqual([[1, 2, 3, 4, 5, 6]]);
  });

  it('starts a round at once when it holds maxItems, and the next turn gets a round of its own', async () => {
    const runs: number[][] = [];
    const echo = new Coalescer<number, number>(async (items) => (runs.push(items), items), 3);
    const first = Promise.all([echo.submit([1, 2]), echo.submit([3]), echo.submit([4])]);
    expect(runs).toEqual([]); // run is called on a microtask, even when maxItems starts the round
    await first;
    await echo.submit([5]);
    expect(runs).toEqual([[1, 2, 3], [4], [5]]);
  });

  it('gives every caller of a failed round the error, and later rounds are unaffected', async () => {
    let fail = true;
    const flaky = new Coalescer<number, number>(async (items) => {
      if (fail) throw new Error('Redis away');
      return items;
    }, 10);
    const round = [flaky.submit([1]), flaky.submit([2])];
    await expect(round[0]).rejects.toThrow('Redis away');
    await expect(round[1]).rejects.toThrow('Redis away');
    fail = false;
    await expect(flaky.submit([3])).resolves.toEqual([3]);
  });

  it("refuses a run that answers a different number of results (no caller gets another one's)", async () => {
    const short = new Coalescer<number, number>(async (items) => items.slice(1), 10);
    await expect(short.submit([1, 2])).rejects.toThrow('returned 1 results for 2 items');
  });

  it('answers an empty submission without a round', async () => {
    const run = jest.fn(async (items: number[]) => items);
    await expect(new Coalescer(run, 10).submit([])).resolves.toEqual([]);
    expect(run).not.toHaveBeenCalled();
  });
});
