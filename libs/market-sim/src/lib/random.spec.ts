import fc from 'fast-check';
import { SeededRandom } from './random';

const seedArb = fc.oneof(fc.integer(), fc.string({ maxLength: 20 }));
const draw = (random: SeededRandom, n: number) => Array.from({ length: n }, () => random.next());

describe('SeededRandom', () => {
  it('gives the same sequence for the same seed', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const a = new SeededRandom(seed);
        const b = new SeededRandom(seed);
        const mixed = (r: SeededRandom) => [r.next(), r.normal(), r.normal(), r.normal(), r.int(1000), r.next()];
        expect(mixed(a)).toEqual(mixed(b));
      }),
    );
  });

  it('gives different sequences for different seeds', () => {
    fc.assert(
      fc.property(seedArb, seedArb, (s1, s2) => {
        fc.pre(String(s1) !== String(s2));
        expect(draw(new SeededRandom(s1), 4)).not.toEqual(draw(new SeededRandom(s2), 4));
      }),
    );
    // Neighbouring seeds must not give shifted or near-identical streams.
    const first = Array.from({ length: 1000 }, (_, seed) => new SeededRandom(seed).next());
    expect(new Set(first).size).toBe(1000);
  });

  it('treats a number seed and its decimal text as the same seed', () => {
    expect(draw(new SeededRandom(42), 5)).toEqual(draw(new SeededRandom('42'), 5));
  });

  it('draws next() in [0, 1), spread over the whole interval', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const values = draw(new SeededRandom(seed), 200);
        expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...values)).toBeLessThan(1);
      }),
    );
    const values = draw(new SeededRandom('uniform'), 20_000);
    const buckets = new Array<number>(10).fill(0);
    for (const v of values) buckets[Math.floor(v * 10)]++;
    // Expected 2000 per bucket, sd ≈ 42: ±200 is far outside chance for a uniform generator.
    for (const count of buckets) expect(Math.abs(count - 2000)).toBeLessThan(200);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  });

  it('draws normal() with mean ≈ 0 and sd ≈ 1 over 20 000 draws', () => {
    for (const seed of [1, 2, 'normal', 'feeder']) {
      const random = new SeededRandom(seed);
      const z = Array.from({ length: 20_000 }, () => random.normal());
      const mean = z.reduce((s, v) => s + v, 0) / z.length;
      const sd = Math.sqrt(z.reduce((s, v) => s + (v - mean) ** 2, 0) / (z.length - 1));
      expect(Math.abs(mean)).toBeLessThan(0.05);
      expect(Math.abs(sd - 1)).toBeLessThan(0.05);
      // Symmetric and with normal tails: about 4.55 % beyond ±2 sd.
      const beyond2 = z.filter((v) => Math.abs(v) > 2).length / z.length;
      expect(beyond2).toBeGreaterThan(0.035);
      expect(beyond2).toBeLessThan(0.056);
      expect(z.every(Number.isFinite)).toBe(true);
    }
  });

  it('uses both Box–Muller values: consecutive normals are not equal or correlated', () => {
    const random = new SeededRandom('pairs');
    const z = Array.from({ length: 20_000 }, () => random.normal());
    let product = 0;
    let equalPairs = 0;
    for (let i = 0; i + 1 < z.length; i += 2) {
      if (z[i] === z[i + 1]) equalPairs++;
      product += z[i] * z[i + 1];
    }
    expect(equalPairs).toBe(0);
    expect(Math.abs(product / (z.length / 2))).toBeLessThan(0.05);
  });

  it('caches the second Box–Muller value: a pair of normals consumes two uniforms', () => {
    const a = new SeededRandom('cache');
    const b = new SeededRandom('cache');
    a.normal();
    a.normal();
    b.next();
    b.next();
    expect(a.next()).toBe(b.next());
  });

  it('draws int(max) as integers in [0, max) and reaches every value', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 1, max: 2 ** 32 }), (seed, max) => {
        const random = new SeededRandom(seed);
        const values = Array.from({ length: 50 }, () => random.int(max));
        expect(values.every((v) => Number.isInteger(v) && v >= 0 && v < max)).toBe(true);
      }),
    );
    const random = new SeededRandom(7);
    const seen = new Set(Array.from({ length: 500 }, () => random.int(6)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('refuses an int() bound that is not an integer in [1, 2^32]', () => {
    const random = new SeededRandom(1);
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 32 + 1]) {
      expect(() => random.int(bad)).toThrow(RangeError);
    }
  });
});
