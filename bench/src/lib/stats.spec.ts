import { histogramQuantile, LogHistogram, median, medianOf, percentile, ratio, slope, summarize } from './stats';

describe('percentile (nearest rank)', () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);

  it('answers a sample that was observed', () => {
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([7], 99)).toBe(7);
  });

  it('is null for no samples', () => {
    expect(percentile([], 50)).toBeNull();
  });
});

describe('summarize', () => {
  it('sorts a copy and reports n, percentiles, max and mean', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(summarize(samples)).toEqual({ n: 5, p50: 3, p95: 5, p99: 5, max: 5, mean: 3 });
    expect(samples).toEqual([5, 1, 4, 2, 3]);
  });

  it('gives nulls when empty', () => {
    expect(summarize([])).toEqual({ n: 0, p50: null, p95: null, p99: null, max: null, mean: null });
  });
});

describe('median and medianOf', () => {
  it('takes the middle, or the mean of the two middles, ignoring nulls', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([null, 5, undefined])).toBe(5);
    expect(median([])).toBeNull();
  });

  it('takes the median key by key through nested objects', () => {
    const runs = [
      { ack: { p50: 1, p99: 9 }, name: 'a' },
      { ack: { p50: 3, p99: 7 }, name: 'b' },
      { ack: { p50: 2, p99: 100 }, name: 'c' },
    ];
    expect(medianOf(runs)).toEqual({ ack: { p50: 2, p99: 9 }, name: 'a' });
    expect(medianOf([null, undefined])).toBeNull();
  });
});

describe('slope', () => {
  it('fits y per unit of x', () => {
    expect(
      slope([
        [0, 1],
        [1, 3],
        [2, 5],
      ]),
    ).toBeCloseTo(2);
    expect(
      slope([
        [0, 4],
        [1, 4],
      ]),
    ).toBe(0);
    expect(slope([[1, 1]])).toBe(0);
  });
});

describe('histogramQuantile', () => {
  const buckets = [
    { le: 0.01, count: 50 },
    { le: 0.1, count: 90 },
    { le: 1, count: 100 },
    { le: Infinity, count: 100 },
  ];

  it('interpolates inside the bucket that holds the rank, as Prometheus does', () => {
    expect(histogramQuantile(buckets, 0.5)).toBeCloseTo(0.01);
    expect(histogramQuantile(buckets, 0.7)).toBeCloseTo(0.055);
    expect(histogramQuantile(buckets, 0.95)).toBeCloseTo(0.55);
  });

  it('answers the last finite bound for a rank in +Inf, and null when empty', () => {
    expect(
      histogramQuantile(
        [
          { le: 1, count: 1 },
          { le: Infinity, count: 2 },
        ],
        0.99,
      ),
    ).toBe(1);
    expect(histogramQuantile([{ le: Infinity, count: 0 }], 0.5)).toBeNull();
  });
});

describe('LogHistogram', () => {
  it('reports percentiles within 1 % above the exact ones, and the exact max and mean', () => {
    const h = new LogHistogram();
    const values = Array.from({ length: 1000 }, (_, i) => (i + 1) / 10);
    for (const v of values) h.record(v);
    const exact = summarize(values, 6);
    const s = h.summary(6);
    for (const key of ['p50', 'p95', 'p99'] as const) {
      const measured = s[key] as number;
      const expected = exact[key] as number;
      expect(measured).toBeGreaterThanOrEqual(expected);
      expect(measured).toBeLessThanOrEqual(expected * 1.01 + 1e-9);
    }
    expect(s.max).toBe(100);
    expect(s.mean).toBeCloseTo(exact.mean as number, 6);
  });

  it('merges histograms as if their samples had been recorded in one', () => {
    const a = new LogHistogram();
    const b = new LogHistogram();
    const all = new LogHistogram();
    for (let i = 1; i <= 500; i++) {
      (i % 2 ? a : b).record(i);
      all.record(i);
    }
    const merged = LogHistogram.fromJSON(JSON.parse(JSON.stringify(a))).merge(b);
    expect(merged.summary()).toEqual(all.summary());
  });

  it('puts zero and negative values (clock granularity) in the first bucket', () => {
    const h = new LogHistogram();
    h.record(-0.4);
    h.record(0);
    expect(h.summary().p50).toBeLessThanOrEqual(0.01);
  });
});

describe('ratio', () => {
  it('divides, and is null without a divisor', () => {
    expect(ratio(3, 4)).toBe(0.75);
    expect(ratio(3, 0)).toBeNull();
    expect(ratio(null, 2)).toBeNull();
  });
});
