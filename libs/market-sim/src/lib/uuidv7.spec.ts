import fc from 'fast-check';
import { TickRules } from '@md/contracts';
import { uuidv7 } from './uuidv7';

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timestampOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
const counterOf = (id: string) => parseInt(id.slice(15, 18), 16);
const isSorted = (ids: string[]) => ids.every((id, i) => i === 0 || ids[i - 1] < id);

/**
 * The generator keeps its last timestamp for the whole process (that is what makes it monotonic),
 * so every test takes times later than any used before.
 */
let clock = Date.UTC(2030, 0, 1);
const freshMs = () => (clock += 10_000_000);

describe('uuidv7', () => {
  it('has the RFC 9562 layout: version 7, variant 10, lower-case hex, a valid event_id', () => {
    const now = freshMs();
    for (let i = 0; i < 1000; i++) {
      const id = uuidv7(now + i);
      expect(id).toMatch(UUIDV7);
      expect(TickRules.eventIdPattern.test(id)).toBe(true);
    }
  });

  it('encodes nowMs in the 48-bit timestamp field', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (offset) => {
        const now = freshMs() + offset;
        expect(timestampOf(uuidv7(now))).toBe(now);
      }),
    );
    // Small and large times alike: the field is zero-padded to 12 hex digits.
    expect(uuidv7(freshMs()).slice(0, 13)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}$/);
  });

  it('sorts 10 000 ids of the same millisecond in generation order, all unique', () => {
    const now = freshMs();
    const ids = Array.from({ length: 10_000 }, () => uuidv7(now));
    expect(isSorted(ids)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // The first 4096 carry the real time with counter 0…4095; after that the counter overflows and
    // the timestamp moves ahead one ms at a time (RFC 9562 §6.2), never more than needed.
    expect(ids.slice(0, 4096).every((id) => timestampOf(id) === now)).toBe(true);
    expect(ids.slice(0, 4096).map(counterOf)).toEqual(Array.from({ length: 4096 }, (_, i) => i));
    expect(timestampOf(ids[4096])).toBe(now + 1);
    expect(timestampOf(ids[9999])).toBe(now + 2);
    expect(ids.every((id) => id.match(UUIDV7))).toBe(true);
  });

  it('sorts ids across increasing milliseconds in generation order, all unique', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 500 }), (gaps) => {
        let now = freshMs();
        const ids: string[] = [];
        for (const gap of gaps) {
          now += gap;
          ids.push(uuidv7(now), uuidv7(now));
        }
        expect(isSorted(ids)).toBe(true);
        expect(new Set(ids).size).toBe(ids.length);
      }),
    );
    const now = freshMs();
    const ids = Array.from({ length: 10_000 }, (_, i) => uuidv7(now + Math.floor(i / 7)));
    expect(isSorted(ids)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps the last timestamp when the clock goes backwards, and stays in order', () => {
    const now = freshMs();
    const ids = [uuidv7(now), uuidv7(now - 5_000), uuidv7(now - 1), uuidv7(now), uuidv7(now + 1)];
    expect(ids.map(timestampOf)).toEqual([now, now, now, now, now + 1]);
    expect(ids.map(counterOf)).toEqual([0, 1, 2, 3, 0]);
    expect(isSorted(ids)).toBe(true);
  });

  it('floors a fractional nowMs', () => {
    const now = freshMs();
    expect(timestampOf(uuidv7(now + 0.9))).toBe(now);
  });

  it('fills rand_b with random bits', () => {
    const now = freshMs();
    const tails = Array.from({ length: 2000 }, () => uuidv7(now).slice(19));
    expect(new Set(tails).size).toBe(tails.length);
    // Each of the 62 random bits is set in about half the ids.
    const bits = tails.map((t) => BigInt(`0x${t.replace('-', '')}`) & ((1n << 62n) - 1n));
    for (let bit = 0n; bit < 62n; bit++) {
      const ones = bits.filter((b) => (b >> bit) & 1n).length;
      expect(ones).toBeGreaterThan(800);
      expect(ones).toBeLessThan(1200);
    }
  });

  it('refuses times outside [0, 2^48) ms', () => {
    for (const bad of [-1, Number.NaN, Infinity, 2 ** 48]) expect(() => uuidv7(bad)).toThrow(RangeError);
  });
});
