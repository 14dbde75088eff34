/**
 * Reads the services' Prometheus /metrics: counters, gauges and histograms, and the change of
 * a histogram between two scrapes (a phase).
 */
import { type Bucket, histogramQuantile, round, type Summary } from './stats';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

type Labels = Record<string, string>;

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Samples of a Prometheus text exposition: [{name, labels, value}]. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const labels: Labels = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** A service's /metrics, or [] when it does not answer within `timeoutMs` (a saturated server may not). */
export async function scrape(baseUrl: string, timeoutMs = 15_000): Promise<Sample[]> {
  try {
    const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    return parseMetrics(await response.text());
  } catch {
    return [];
  }
}

const matches = (labels: Labels, filter: Labels) => Object.entries(filter).every(([k, v]) => labels[k] === v);

/** Sum of a metric's samples whose labels include `filter`. */
export function total(samples: readonly Sample[], name: string, filter: Labels = {}): number {
  return samples.filter((s) => s.name === name && matches(s.labels, filter)).reduce((sum, s) => sum + s.value, 0);
}

export interface Histogram {
  buckets: Bucket[];
  count: number;
  sum: number;
}

/** A histogram's cumulative buckets (summed over the other labels), count and sum. */
export function histogram(samples: readonly Sample[], name: string, filter: Labels = {}): Histogram {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !matches(s.labels, filter)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
  return { buckets, count: total(samples, `${name}_count`, filter), sum: total(samples, `${name}_sum`, filter) };
}

/** What a histogram gained between two scrapes. */
export function histogramDelta(before: readonly Sample[], after: readonly Sample[], name: string, filter: Labels = {}): Histogram {
  const a = histogram(after, name, filter);
  const b = histogram(before, name, filter);
  const earlier = new Map(b.buckets.map(({ le, count }) => [le, count]));
  return {
    buckets: a.buckets.map(({ le, count }) => ({ le, count: count - (earlier.get(le) ?? 0) })),
    count: a.count - b.count,
    sum: a.sum - b.sum,
  };
}

/** A Summary estimated from histogram buckets, marked so a reader does not take it for observed samples. */
export interface HistogramSummary extends Summary {
  resolution: 'histogram';
}

/**
 * Percentiles (ms) estimated from a histogram's change over a phase, interpolated inside the
 * buckets: only as fine as the buckets. `max` is the upper bound of the highest bucket hit.
 */
export function histogramSummaryMs(delta: Histogram): HistogramSummary {
  if (!delta.count) return { n: 0, p50: null, p95: null, p99: null, max: null, mean: null, resolution: 'histogram' };
  const q = (p: number) => round((histogramQuantile(delta.buckets, p) ?? 0) * 1000);
  let previous = 0;
  let maxLe: number | null = null;
  for (const { le, count } of delta.buckets) {
    if (count > previous) maxLe = le;
    previous = count;
  }
  return {
    n: delta.count,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    max: maxLe === Infinity ? null : round((maxLe ?? 0) * 1000),
    mean: round((delta.sum / delta.count) * 1000),
    resolution: 'histogram',
  };
}
