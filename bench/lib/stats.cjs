/**
 * The bench's statistics, pure and dependency-free (CommonJS so that the bench's ESM modules
 * and Jest's default CommonJS mode can both load it; bench/stats.spec.cjs tests it).
 *
 * Percentiles are nearest-rank (the smallest sample with at least p % of the samples at or
 * below it), so every figure reported is a latency that was really observed.
 */

/** Nearest-rank percentile of an ascending array; null when empty. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

const round = (value, digits = 2) => (value === null || value === undefined || !Number.isFinite(value) ? value ?? null : Number(value.toFixed(digits)));

/** {n, p50, p95, p99, max, mean} of samples (any order; not modified); nulls when empty. */
function summarize(samples, digits = 2) {
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
function median(values) {
  const sorted = values.filter((v) => v !== null && v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The median, key by key, of objects of the same shape (the repeats of a phase): numbers are
 * replaced by their median, nested objects are merged recursively, anything else is taken
 * from the first object.
 */
function medianOf(objects, digits = 2) {
  const present = objects.filter((o) => o !== null && o !== undefined);
  if (present.length === 0) return null;
  const first = present[0];
  if (typeof first === 'number') return round(median(present), digits);
  if (typeof first !== 'object' || Array.isArray(first)) return first;
  const out = {};
  for (const key of Object.keys(first)) out[key] = medianOf(present.map((o) => o[key]), digits);
  return out;
}

/** Least-squares slope of [x, y] points (y per unit of x); 0 with fewer than two distinct x. */
function slope(points) {
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

/**
 * Prometheus-style quantile of a cumulative histogram ([{le, count}], le ascending, the last
 * +Inf): linear interpolation inside the bucket that holds the rank, as histogram_quantile()
 * does. Only as precise as the buckets; null when the histogram is empty.
 */
function histogramQuantile(buckets, q) {
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
function ratio(a, b, digits = 2) {
  if (a === null || a === undefined || !b) return null;
  return round(a / b, digits);
}

const LOG_MIN = 0.01;
const LOG_STEP = Math.log(1.01);

/**
 * A latency histogram with 1 % wide logarithmic buckets from 0.01 (ms) up: mergeable across
 * processes and cheap to record into, for the fan-out clients' millions of samples. A
 * percentile is reported as its bucket's upper bound (at most 1 % above the true value); the
 * max and mean are exact. Values at or below 0.01 share the first bucket.
 */
class LogHistogram {
  constructor() {
    this.counts = new Map();
    this.n = 0;
    this.sum = 0;
    this.max = -Infinity;
  }

  record(value) {
    const bucket = value <= LOG_MIN ? 0 : Math.ceil(Math.log(value / LOG_MIN) / LOG_STEP);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.n += 1;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  merge(other) {
    for (const [bucket, count] of other.counts) this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + count);
    this.n += other.n;
    this.sum += other.sum;
    this.max = Math.max(this.max, other.max);
    return this;
  }

  percentile(p) {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket);
      if (seen >= rank) return Math.min(this.max, LOG_MIN * Math.exp(bucket * LOG_STEP));
    }
    return this.max;
  }

  summary(digits = 2) {
    return {
      n: this.n,
      p50: round(this.percentile(50), digits),
      p95: round(this.percentile(95), digits),
      p99: round(this.percentile(99), digits),
      max: round(this.n ? this.max : null, digits),
      mean: round(this.n ? this.sum / this.n : null, digits),
    };
  }

  toJSON() {
    return { counts: [...this.counts.entries()], n: this.n, sum: this.sum, max: this.max };
  }

  static fromJSON(json) {
    const histogram = new LogHistogram();
    histogram.counts = new Map(json.counts);
    histogram.n = json.n;
    histogram.sum = json.sum;
    histogram.max = json.max ?? -Infinity;
    return histogram;
  }
}

module.exports = { percentile, summarize, median, medianOf, slope, histogramQuantile, ratio, round, LogHistogram };
