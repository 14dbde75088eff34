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
 *    ts ≤ newest.ts − WINDOW_MS; running Σv and Σp·v. Running sums drift as ticks come and
 *    go (a huge volume leaving a window of small ones leaves its rounding error behind), so
 *    each keeps a bound on its accumulated error (every add or subtract adds at most ε·|result|,
 *    a product ε·|p·v|), and is recomputed exactly from the window, in (ts, event_id) order
 *    like the reference, as soon as that bound could pass RELATIVE_ERROR of the sum; also
 *    when the window is small. The sums are exactly 0 while no tick in the window has a
 *    volume (so vwap is null, not 0/ε).
 *
 * Tests fold ticks through this in any order and compare with `summarize`.
 */
export class WindowState {
  private readonly seen = new Set<string>();
  private count = 0;
  private newest?: Tick;
  private readonly last: Tick[] = [];
  private readonly window: Tick[] = [];
  private volume = 0;
  private pv = 0;
  /** Bounds on the absolute error of the running sums since the last exact recompute. */
  private volumeError = 0;
  private pvError = 0;
  /** Ticks in the window with volume > 0, counted exactly. */
  private withVolume = 0;

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
    if (
      this.window.length < WindowState.EXACT_BELOW ||
      this.volumeError > tolerance * Math.abs(this.volume) ||
      this.pvError > tolerance * Math.abs(this.pv)
    ) {
      this.recompute();
    }
    if (this.withVolume === 0) {
      this.volume = 0;
      this.pv = 0;
    }
    return true;
  }

  private addToSums(tick: Tick, sign: 1 | -1): void {
    const product = tick.price * tick.volume;
    this.volume += sign * tick.volume;
    this.pv += sign * product;
    this.volumeError += EPSILON * Math.abs(this.volume);
    this.pvError += EPSILON * (Math.abs(this.pv) + Math.abs(product));
  }

  private recompute(): void {
    this.volume = 0;
    this.pv = 0;
    for (const t of this.window) {
      this.volume += t.volume;
      this.pv += t.price * t.volume;
    }
    this.volumeError = 0;
    this.pvError = 0;
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
        volume: this.volume,
        pv: this.pv,
        high: Math.max(...prices),
        low: Math.min(...prices),
        open: this.window[0].price,
      },
    };
  }
}

/** Unit round-off of doubles: a rounded operation errs by at most EPSILON times its result. */
const EPSILON = 2 ** -53;

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
