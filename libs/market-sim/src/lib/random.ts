/**
 * A deterministic PRNG: the same seed gives the same sequence on every machine and every run,
 * so a feeder started with a seed replays the same market. Never use it for ids or anything
 * that must be unpredictable (uuidv7 takes node:crypto for that).
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG, 128-bit state, passes PractRand),
 * seeded through cyrb128. A number seed is hashed through its decimal text, so `42` and `'42'`
 * are the same seed — on purpose: seeds usually arrive as text from the environment.
 */
import { cyrb128 } from './hash';

const TWO_POW_32 = 4294967296;
// Math taken once into module scope: Jest runs modules in a vm context where every global
// lookup goes through an interceptor, which made the hot path ten times slower under test.
const { cos, floor, log, PI, sin, sqrt } = Math;

export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Box–Muller yields two independent normals; the second waits here for the next call. */
  private spareNormal: number | undefined;

  constructor(seed: number | string) {
    [this.a, this.b, this.c, this.d] = cyrb128(String(seed));
    // The first outputs of a freshly hashed state are still correlated with the seed: discard them.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Standard normal (mean 0, sd 1) by Box–Muller; the second value of each pair is cached. */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return z;
    }
    const u1 = 1 - this.next(); // (0, 1]: log(0) would be −∞
    const u2 = this.next();
    const r = sqrt(-2 * log(u1));
    const theta = 2 * PI * u2;
    this.spareNormal = r * sin(theta);
    return r * cos(theta);
  }

  /** Uniform integer in [0, maxExclusive); maxExclusive an integer in [1, 2^32]. */
  int(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive < 1 || maxExclusive > TWO_POW_32) {
      throw new RangeError(`maxExclusive must be an integer in [1, 2^32], got ${maxExclusive}`);
    }
    return floor(this.next() * maxExclusive);
  }

  private nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
}
