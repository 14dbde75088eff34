/**
 * The bench's statistics, pure and dependency-free (stats.spec.ts tests them).
 *
 * Percentiles are nearest-rank (the smallest sample with at least p % of the samples at or
 * below it), so every figure reported is a latency that was really observed.
 */

/** {n, p50, p95, p99, max, mean}; nulls when there are no samples. */
export interface Summary {
  n: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

type Sorted = ArrayLike<number>;

/** Nearest-rank percentile of an ascending array; null when empty. */
export function percentile(sorted: Sorted, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** `value` with `digits` decimals; null (or a non-finite value) passes through. */
export function round(value: number, digits?: number): number;
export function round(value: number | null | undefined, digits?: number): number | null;
export function round(value: number | null | undefined, digits = 2): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? (value ?? null) : Number(value.toFixed(digits));
}

/** {n, p50, p95, p99, max, mean} of samples (any order; not modified); nulls when empty. */
export function summarize(samples: ArrayLike<number> & Iterable<number>, digits = 2): Summary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  let total = 0;
  for (const v of sorted) total += v;
  return {
    n,
    p50: round(percentile(sorted, 50), digits),
    p95: round(percentile(sorted, 95), digits),
    p99: round(percentile(sorted, 99), digits),
    max: round(n ? sorted[n - 1] : null, digits),
    mean: round(n ? total / n : null, digits),
  };
}

/** Median of numbers (the mean of the two middle ones for an even count); nulls are ignored. */
export function median(values: readonly (number | null | undefined)[]): number | null {
  const sorted = values.filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The median, key by key, of objects of the same shape (the repeats of a phase): numbers are
 * replaced by their median, nested objects are merged recursively, anything else is taken
 * from the first object.
 */
export function medianOf<T>(objects: readonly (T | null | undefined)[], digits = 2): T | null {
  const present = objects.filter((o): o is T => o !== null && o !== undefined);
  if (present.length === 0) return null;
  const first: unknown = present[0];
  if (typeof first === 'number') return round(median(present as unknown as number[]), digits) as T;
  if (typeof first !== 'object' || first === null || Array.isArray(first)) return first as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(first))
    out[key] = medianOf(
      present.map((o) => (o as Record<string, unknown>)[key]),
      digits,
    );
  return out as T;
}

/** Least-squares slope of [x, y] points (y per unit of x); 0 with fewer than two distinct x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface Bucket {
  le: number;
  count: number;
}

/**
 * Prometheus-style quantile of a cumulative histogram ([{le, count}], le ascending, the last
 * +Inf): linear interpolation inside the bucket that holds the rank, as histogram_quantile()
 * does. Only as precise as the buckets; null when the histogram is empty.
 */
export function histogramQuantile(buckets: readonly Bucket[], q: number): number | null {
  const total = buckets.length ? buckets[buckets.length - 1].count : 0;
  if (!total) return null;
  const rank = q * total;
  let previousLe = 0;
  let previousCount = 0;
  for (const { le, count } of buckets) {
    if (count >= rank) {
      if (le === Infinity) return previousLe;
      const inBucket = count - previousCount;
      return inBucket === 0 ? le : previousLe + ((le - previousLe) * (rank - previousCount)) / inBucket;
    }
    previousLe = le;
    previousCount = count;
  }
  return previousLe;
}

/** a / b rounded, or null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined, digits = 2): number | null {
  if (a === null || a === undefined || !b) return null;
  return round(a / b, digits);
}

const LOG_MIN = 0.01;
const LOG_STEP = Math.log(1.01);

/** A LogHistogram as it crosses a process boundary (IPC). */
export interface LogHistogramJson {
  counts: [number, number][];
  n: number;
  sum: number;
  max: number | null;
}

/**
 * A latency histogram with 1 % wide logarithmic buckets from 0.01 (ms) up: mergeable across
 * processes and cheap to record into, for the fan-out clients' millions of samples. A
 * percentile is reported as its bucket's upper bound (at most 1 % above the true value); the
 * max and mean are exact. Values at or below 0.01 share the first bucket.
 */
export class LogHistogram {
  counts = new Map<number, number>();
  n = 0;
  sum = 0;
  max = -Infinity;

  record(value: number): void {
    const bucket = value <= LOG_MIN ? 0 : Math.ceil(Math.log(value / LOG_MIN) / LOG_STEP);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.n += 1;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  merge(other: LogHistogram): this {
    for (const [bucket, count] of other.counts) this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + count);
    this.n += other.n;
    this.sum += other.sum;
    this.max = Math.max(this.max, other.max);
    return this;
  }

  percentile(p: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket) ?? 0;
      if (seen >= rank) return Math.min(this.max, LOG_MIN * Math.exp(bucket * LOG_STEP));
    }
    return this.max;
  }

  summary(digits = 2): Summary {
    return {
      n: this.n,
      p50: round(this.percentile(50), digits),
      p95: round(this.percentile(95), digits),
      p99: round(this.percentile(99), digits),
      max: round(this.n ? this.max : null, digits),
      mean: round(this.n ? this.sum / this.n : null, digits),
    };
  }

  /** -Infinity (no sample) becomes null in JSON: fromJSON turns it back. */
  toJSON(): LogHistogramJson {
    return { counts: [...this.counts.entries()], n: this.n, sum: this.sum, max: this.max };
  }

  static fromJSON(json: LogHistogramJson): LogHistogram {
    const histogram = new LogHistogram();
    histogram.counts = new Map(json.counts);
    histogram.n = json.n;
    histogram.sum = json.sum;
    histogram.max = json.max ?? -Infinity;
    return histogram;
  }
}
