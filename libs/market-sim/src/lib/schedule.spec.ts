import fc from 'fast-check';
import { SeededRandom } from './random';
import { FakeClock, RateSchedule, systemClock, type Clock } from './schedule';

const T0 = Date.UTC(2026, 0, 1);

/** The largest double below x (x > 0). */
const nextDown = (x: number) => {
  const bits = new BigInt64Array(new Float64Array([x]).buffer);
  bits[0] -= 1n;
  return new Float64Array(bits.buffer)[0];
};
/** Let every promise that can run, run (the sleepers resumed by advance, and what they start). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RateSchedule', () => {
  const tpsArb = fc.double({ min: 0.1, max: 100_000, noNaN: true });
  const startArb = fc.integer({ min: 0, max: 4e12 });

  it('follows floor((now − start)·tps/1000) + 1, with the first tick due at start', () => {
    const schedule = new RateSchedule(100, T0);
    expect(schedule.dueBy(T0 - 1)).toBe(0);
    expect(schedule.dueBy(T0)).toBe(1);
    expect(schedule.dueBy(T0 + 9)).toBe(1);
    expect(schedule.dueBy(T0 + 10)).toBe(2);
    expect(schedule.dueBy(T0 + 1234)).toBe(124);
    expect(schedule.dueBy(T0 + 120_000)).toBe(12_001);
    expect(schedule.dueAt(0)).toBe(T0);
    expect(schedule.dueAt(123)).toBe(T0 + 1230);
    expect(new RateSchedule(3000, 0).dueBy(1)).toBe(4);
    expect(new RateSchedule(0.5, 0).dueAt(3)).toBe(6000);
    fc.assert(
      fc.property(tpsArb, startArb, fc.double({ min: 0, max: 1e9, noNaN: true }), (tps, start, elapsed) => {
        const expected = Math.floor((elapsed * tps) / 1000) + 1;
        // Exact up to the float rounding of now itself.
        expect(Math.abs(new RateSchedule(tps, start).dueBy(start + elapsed) - expected)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('is consistent: dueBy(dueAt(n)) = n + 1 and, just before dueAt(n), n', () => {
    fc.assert(
      fc.property(tpsArb, startArb, fc.integer({ min: 0, max: 10_000_000 }), (tps, start, n) => {
        const schedule = new RateSchedule(tps, start);
        expect(schedule.dueBy(schedule.dueAt(n))).toBe(n + 1);
        if (n > 0) expect(schedule.dueBy(nextDown(schedule.dueAt(n)))).toBe(n);
        expect(schedule.dueAt(n + 1)).toBeGreaterThan(schedule.dueAt(n));
      }),
    );
  });

  it('never decreases as time passes, and counts nothing before start', () => {
    fc.assert(
      fc.property(tpsArb, startArb, fc.array(fc.double({ min: -1e6, max: 1e8, noNaN: true }), { minLength: 2 }), (tps, start, offsets) => {
        const schedule = new RateSchedule(tps, start);
        const counts = [...offsets].sort((a, b) => a - b).map((o) => schedule.dueBy(start + o));
        expect(counts.every((c, i) => i === 0 || counts[i - 1] <= c)).toBe(true);
        offsets.filter((o) => start + o < start).forEach((o) => expect(schedule.dueBy(start + o)).toBe(0));
      }),
    );
  });

  it('refuses a rate that is not positive and finite, and a bad tick number', () => {
    for (const tps of [0, -5, Number.NaN, Infinity]) expect(() => new RateSchedule(tps, T0)).toThrow(RangeError);
    expect(() => new RateSchedule(10, Number.NaN)).toThrow(RangeError);
    const schedule = new RateSchedule(10, T0);
    for (const n of [-1, 1.5, Number.NaN]) expect(() => schedule.dueAt(n)).toThrow(RangeError);
    expect(() => schedule.dueBy(Number.NaN)).toThrow(RangeError);
  });
});

describe('FakeClock', () => {
  it('moves only when advanced, and wakes sleepers once their deadline has passed, in deadline order', async () => {
    const clock = new FakeClock(T0);
    const woke: string[] = [];
    void clock.sleep(30).then(() => woke.push(`30@${clock.now() - T0}`));
    void clock.sleep(10).then(() => woke.push(`10@${clock.now() - T0}`));
    void clock.sleep(20).then(() => woke.push(`20@${clock.now() - T0}`));
    await settle();
    expect(clock.now()).toBe(T0);
    expect(woke).toEqual([]);
    clock.advance(9);
    await settle();
    expect(woke).toEqual([]);
    clock.advance(1);
    await settle();
    expect(woke).toEqual(['10@10']);
    clock.advance(25);
    await settle();
    expect(woke).toEqual(['10@10', '20@35', '30@35']);
  });

  it('resolves sleep(ms ≤ 0) without advancing', async () => {
    const clock = new FakeClock(T0);
    let done = 0;
    await clock.sleep(0).then(() => done++);
    await clock.sleep(-5).then(() => done++);
    expect(done).toBe(2);
    expect(clock.now()).toBe(T0);
  });

  it('refuses to go backwards', async () => {
    const clock = new FakeClock(T0);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    await expect(clock.sleep(Number.NaN)).rejects.toThrow(RangeError);
  });
});

describe('systemClock', () => {
  it('reads the wall clock and sleeps on real timers', async () => {
    const before = Date.now();
    expect(Math.abs(systemClock.now() - before)).toBeLessThan(1000);
    await systemClock.sleep(20);
    expect(Date.now() - before).toBeGreaterThanOrEqual(15);
    await systemClock.sleep(-1);
  });
});

describe('a send loop scheduled by time', () => {
  /** How long one send takes: mostly a few ms, now and then a stall of 50–100 ms. */
  const jitteryDelays = (seed: string) => {
    const random = new SeededRandom(seed);
    return () => (random.next() < 0.02 ? 50 + 50 * random.next() : 8 * random.next());
  };

  /**
   * Drive `loop` on a FakeClock for `seconds`, advancing 1 ms at a time and letting the loop run
   * in between; `send(count)` records the send time of each tick and takes `delay()` ms.
   */
  async function simulate(
    seconds: number,
    delay: () => number,
    loop: (clock: Clock, send: (count: number) => Promise<void>, endMs: number) => Promise<void>,
  ): Promise<number[]> {
    const clock = new FakeClock(T0);
    const sendTimes: number[] = [];
    const send = async (count: number) => {
      for (let i = 0; i < count; i++) sendTimes.push(clock.now());
      await clock.sleep(delay());
    };
    let done = false;
    const running = loop(clock, send, T0 + seconds * 1000).then(() => (done = true));
    while (!done) {
      clock.advance(1);
      await settle();
    }
    await running;
    return sendTimes;
  }

  /** The loop under test: send what is due by now, sleep until the next tick is due. */
  const scheduledLoop = (tps: number) => async (clock: Clock, send: (count: number) => Promise<void>, endMs: number) => {
    const schedule = new RateSchedule(tps, clock.now());
    let sent = 0;
    while (clock.now() < endMs) {
      const n = schedule.dueBy(clock.now()) - sent;
      if (n > 0) {
        await send(n);
        sent += n;
      }
      await clock.sleep(schedule.dueAt(sent) - clock.now());
    }
  };

  /** What this module exists to replace: sleep a fixed interval after each send. */
  const naiveLoop = (tps: number) => async (clock: Clock, send: (count: number) => Promise<void>, endMs: number) => {
    while (clock.now() < endMs) {
      await send(1);
      await clock.sleep(1000 / tps);
    }
  };

  const windowCounts = (sendTimes: number[], seconds: number) => {
    const counts = new Array<number>(seconds / 10).fill(0);
    for (const t of sendTimes) {
      const w = Math.floor((t - T0) / 10_000);
      if (w < counts.length) counts[w]++;
    }
    return counts;
  };

  it.each([50, 100, 3000])('holds %d ticks/s within ±2 %% in every 10 s window over 120 s, without drift', async (tps) => {
    const sendTimes = await simulate(120, jitteryDelays(`delays-${tps}`), scheduledLoop(tps));
    const expected = 10 * tps;
    const counts = windowCounts(sendTimes, 120);
    expect(counts.filter((c) => Math.abs(c - expected) > 0.02 * expected)).toEqual([]);

    // No drift: tick i is never sent before it is due, and never more than one stall (plus a send
    // and a clock step) after — in the last window as in the first.
    const schedule = new RateSchedule(tps, T0);
    const lags = sendTimes.map((t, i) => t - schedule.dueAt(i));
    expect(lags.reduce((a, b) => Math.min(a, b))).toBeGreaterThanOrEqual(0);
    expect(lags.reduce((a, b) => Math.max(a, b))).toBeLessThanOrEqual(110);
    expect(sendTimes.length).toBeGreaterThanOrEqual(schedule.dueBy(T0 + 120_000) - Math.ceil((110 * tps) / 1000));
  });

  it('keeps the rate when every send takes longer than the interval, by sending in batches', async () => {
    const tps = 100; // a tick every 10 ms, each send taking 30 ms
    const sendTimes = await simulate(60, () => 30, scheduledLoop(tps));
    const counts = windowCounts(sendTimes, 60);
    expect(counts.filter((c) => Math.abs(c - 10 * tps) > 0.02 * 10 * tps)).toEqual([]);
  });

  it('(control) a fixed sleep after each send drifts with the same delays, so the checks above can fail', async () => {
    const tps = 100;
    const sendTimes = await simulate(30, jitteryDelays('delays-100'), naiveLoop(tps));
    const counts = windowCounts(sendTimes, 30);
    expect(counts.every((c) => c < 0.8 * 10 * tps)).toBe(true);
    const lastLag = sendTimes[sendTimes.length - 1] - new RateSchedule(tps, T0).dueAt(sendTimes.length - 1);
    expect(lastLag).toBeGreaterThan(5_000);
  });
});
