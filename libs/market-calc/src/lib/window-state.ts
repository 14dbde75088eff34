import { LAST_N, WINDOW_MS, type Tick } from '@md/contracts';
import { compareTicks } from './order';
import type { WindowSummary } from './summary';

/**
 * calc-a's incremental algorithm for one symbol, as the consumers' Lua script runs it in
 * Redis (libs/pipeline/src/lib/lua/calc-a.lua): one step per tick, O(log n) plus the
 * ticks it evicts, instead of recomputing the window.
 *
 *  - dedupe by event_id; a duplicate changes nothing;
 *  - last10: insert in (ts, event_id) order, keep the LAST_N greatest;
 *  - newest: the greatest (ts, event_id) so far;
 *  - window: insert if ts > newest.ts − WINDOW_MS, then evict every tick with
 *    ts ≤ newest.ts − WINDOW_MS; running Σv and Σp·v, each a compensated (Neumaier) sum: the
 *    rounding error of every add or subtract is computed exactly (Fast2Sum) and kept in a
 *    compensation term, so a huge volume leaving a window of small ones leaves nothing behind.
 *    What is still rounded is the compensation's own addition; each sum keeps a bound on that
 *    error (ε·|compensation| per step, about ε² of the sum), and is recomputed from the window
 *    (in (ts, event_id) order, compensated too) as soon as the bound could pass
 *    RELATIVE_ERROR of the sum: rarely (plain running sums, whose bound grows by ε of the sum
 *    per step, needed it every ~9,000 steps: 60–80 ms of Redis on a 60,000-tick window). Also
 *    recomputed while the window is small. The sums are exactly 0 while no tick in the window
 *    has a volume (so vwap is null, not 0/ε).
 *
 * Tests fold ticks through this in any order and compare with `summarize`.
 */
export class WindowState {
  private readonly seen = new Set<string>();
  private count = 0;
  private newest?: Tick;
  private readonly last: Tick[] = [];
  private readonly window: Tick[] = [];
  private readonly volume = new CompensatedSum();
  private readonly pv = new CompensatedSum();
  /** Ticks in the window with volume > 0, counted exactly. */
  private withVolume = 0;
  /** How often the error bound (not a small window) made the sums be recomputed. */
  recomputes = 0;

  /** Windows smaller than this are always summed exactly. */
  static readonly EXACT_BELOW = 32;
  /** The running sums are recomputed before their error bound could pass this share of them. */
  static readonly RELATIVE_ERROR = 1e-12;

  /** Applies a tick; false if its event_id was seen before (nothing changed). */
  apply(tick: Tick): boolean {
    if (this.seen.has(tick.event_id)) return false;
    this.seen.add(tick.event_id);
    this.count += 1;

    insertSorted(this.last, tick);
    if (this.last.length > LAST_N) this.last.splice(0, this.last.length - LAST_N);

    if (!this.newest || compareTicks(tick, this.newest) > 0) this.newest = tick;
    const cutoff = this.newest.ts - WINDOW_MS;
    if (tick.ts > cutoff) {
      insertSorted(this.window, tick);
      this.addToSums(tick, 1);
      if (tick.volume > 0) this.withVolume += 1;
    }
    while (this.window.length > 0 && this.window[0].ts <= cutoff) {
      const old = this.window.shift() as Tick;
      this.addToSums(old, -1);
      if (old.volume > 0) this.withVolume -= 1;
    }
    const tolerance = WindowState.RELATIVE_ERROR;
    if (this.window.length < WindowState.EXACT_BELOW) this.recompute();
    else if (this.volume.mayExceed(tolerance) || this.pv.mayExceed(tolerance)) {
      this.recompute();
      this.recomputes += 1;
    }
    if (this.withVolume === 0) {
      this.volume.reset();
      this.pv.reset();
    }
    return true;
  }

  private addToSums(tick: Tick, sign: 1 | -1): void {
    this.volume.add(sign * tick.volume);
    this.pv.add(sign * (tick.price * tick.volume));
  }

  /** The sums afresh from the window, compensated too: a plain sum's own error would not be in the bound. */
  private recompute(): void {
    this.volume.reset();
    this.pv.reset();
    for (const t of this.window) this.addToSums(t, 1);
  }

  summary(): WindowSummary {
    const newest = this.newest;
    if (!newest) throw new Error('no tick applied yet');
    const prices = this.window.map((t) => t.price);
    return {
      symbol: newest.symbol,
      tickCount: this.count,
      newest: { ts: newest.ts, eventId: newest.event_id, price: newest.price, source: newest.source },
      last10: this.last.map((t) => t.price),
      window: {
        count: this.window.length,
        volume: this.volume.value(),
        pv: this.pv.value(),
        high: Math.max(...prices),
        low: Math.min(...prices),
        open: this.window[0].price,
      },
    };
  }
}

/** Unit round-off of doubles: a rounded operation errs by at most EPSILON times its result. */
const EPSILON = 2 ** -53;

/**
 * A running sum of doubles, compensated (Neumaier's variant of Kahan summation): `sum + compensation`
 * is the sum since the last reset, up to `error`. Fast2Sum makes the rounding error of `sum + x`
 * exact ((sum − t) + x when |sum| ≥ |x|), so the only rounded step left is adding that error to
 * the compensation, which errs by at most ε·|compensation|. calc-a.lua does the same, operation for
 * operation, so both leave the same bits.
 */
class CompensatedSum {
  private sum = 0;
  private compensation = 0;
  /**
   * Bound on |sum + compensation − the exact sum since the last reset| (value() rounds once more,
   * and the bound is itself summed in doubles: each off by about ε of itself, far inside 1e-12).
   */
  private error = 0;

  add(x: number): void {
    const t = this.sum + x;
    const lost = Math.abs(this.sum) >= Math.abs(x) ? this.sum - t + x : x - t + this.sum;
    this.sum = t;
    this.compensation += lost;
    this.error += EPSILON * Math.abs(this.compensation);
  }

  /** Starts again from an exact 0 (a recompute, or a window without volume). */
  reset(): void {
    this.sum = 0;
    this.compensation = 0;
    this.error = 0;
  }

  /** True when the error bound could pass `tolerance` of the sum. */
  mayExceed(tolerance: number): boolean {
    return this.error > tolerance * Math.abs(this.value());
  }

  /** The sum (no addition while the compensation is 0, so −0 stays −0, as in the script). */
  value(): number {
    return this.compensation === 0 ? this.sum : this.sum + this.compensation;
  }
}

function insertSorted(list: Tick[], tick: Tick): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareTicks(list[mid], tick) < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, tick);
}
