import { backoffMs, sleep } from './timing';

describe('backoffMs', () => {
  it('doubles from the base per attempt up to the cap', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6].map((attempt) => backoffMs(attempt, { baseMs: 100, maxMs: 2_000 }));
    expect(delays).toEqual([100, 200, 400, 800, 1_600, 2_000, 2_000]);
  });

  it('stays finite and capped for any attempt count, and treats a negative one as the first', () => {
    expect(backoffMs(10_000, { baseMs: 50, maxMs: 5_000 })).toBe(5_000);
    expect(backoffMs(-3, { baseMs: 50, maxMs: 5_000 })).toBe(50);
  });

  it('spreads the delay over [½, 1] (half) or [0, 1] (full) of it', () => {
    const at = (random: number, jitter: 'half' | 'full') => backoffMs(2, { baseMs: 100, maxMs: 10_000, jitter, random: () => random });
    expect([at(0, 'half'), at(0.5, 'half'), at(0.75, 'half')]).toEqual([200, 300, 350]);
    expect([at(0, 'full'), at(0.5, 'full')]).toEqual([0, 200]);
  });
});

describe('sleep', () => {
  it('resolves after the time given', async () => {
    jest.useFakeTimers();
    let done = false;
    const slept = sleep(1_000).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await slept;
    expect(done).toBe(true);
    jest.useRealTimers();
  });
});
