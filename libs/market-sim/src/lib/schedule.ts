/**
 * Sending by time, not by sleeping a fixed interval after each send: tick n is due at
 * start + n·1000/tps, the loop sends whatever is due by now and sleeps until the next one is.
 * A slow send then delays ticks but does not lose them, so the rate does not drift.
 *
 *   let sent = 0;
 *   for (;;) {
 *     const n = schedule.dueBy(clock.now()) - sent;
 *     if (n > 0) { await send(n); sent += n; }
 *     await clock.sleep(schedule.dueAt(sent) - clock.now());
 *   }
 */

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Wall-clock time and real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

export class RateSchedule {
  private readonly intervalMs: number;

  constructor(
    private readonly tps: number,
    private readonly startMs: number,
  ) {
    if (!Number.isFinite(tps) || tps <= 0) throw new RangeError(`tps must be finite and > 0, got ${tps}`);
    if (!Number.isFinite(startMs)) throw new RangeError(`startMs must be finite, got ${startMs}`);
    this.intervalMs = 1000 / tps;
  }

  /**
   * How many ticks should have been sent by nowMs in total: floor((nowMs − startMs)·tps/1000) + 1
   * (the first is due at start), 0 before start. Computed as the count of n with dueAt(n) ≤ nowMs,
   * so dueBy(dueAt(n)) === n + 1 holds exactly despite float rounding.
   */
  dueBy(nowMs: number): number {
    if (Number.isNaN(nowMs)) throw new RangeError('nowMs must be a number');
    if (nowMs < this.startMs) return 0;
    if (nowMs === Infinity) return Infinity;
    // The formula is right to within a step of float error; settle the edge against dueAt.
    let count = Math.floor(((nowMs - this.startMs) * this.tps) / 1000) + 1;
    while (this.dueAt(count) <= nowMs) count++;
    while (count > 0 && this.dueAt(count - 1) > nowMs) count--;
    return count;
  }

  /** When tick number n (0-based) is due. */
  dueAt(n: number): number {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be an integer ≥ 0, got ${n}`);
    // One multiplication, one addition: monotone in n, no accumulated error.
    return this.startMs + n * this.intervalMs;
  }
}

/**
 * A clock for tests: time moves only by advance(). sleep() resolves once advance() has moved the
 * time to or past its deadline (sleepers resume in deadline order, and see the advanced time —
 * like a real timer that fires late). sleep(ms ≤ 0) resolves without waiting.
 */
export class FakeClock implements Clock {
  private current: number;
  private sequence = 0;
  private timers: { at: number; seq: number; resolve: () => void }[] = [];

  constructor(startMs: number) {
    if (!Number.isFinite(startMs)) throw new RangeError(`startMs must be finite, got ${startMs}`);
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number): Promise<void> {
    if (Number.isNaN(ms)) return Promise.reject(new RangeError('sleep(ms) needs a number'));
    const at = this.current + ms;
    if (at <= this.current) return Promise.resolve();
    return new Promise((resolve) => this.timers.push({ at, seq: this.sequence++, resolve }));
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance(ms) needs a finite ms ≥ 0, got ${ms}`);
    this.current += ms;
    const due = this.timers.filter((t) => t.at <= this.current).sort((x, y) => x.at - y.at || x.seq - y.seq);
    if (due.length === 0) return;
    this.timers = this.timers.filter((t) => t.at > this.current);
    for (const timer of due) timer.resolve();
  }
}
