import { describe, expect, it } from 'vitest';
import { directionOf, flashClass } from './flash';
import { median, Stale, staleness, typicalInterval } from './staleness';

describe('staleness', () => {
  it('is judged against the typical interval: amber past 3×, red past 10×', () => {
    expect(staleness(3_000, 1_000)).toBe('fresh');
    expect(staleness(3_001, 1_000)).toBe('amber');
    expect(staleness(10_000, 1_000)).toBe('amber');
    expect(staleness(10_001, 1_000)).toBe('red');
  });

  it('is relative: the same age is fresh for a slow symbol and red for a fast one', () => {
    const age = 6_000;
    expect(staleness(age, typicalInterval([5_000, 5_000, 5_000]))).toBe('fresh');
    expect(staleness(age, typicalInterval([500, 500, 500]))).toBe('red');
  });

  it('takes the median of the recent gaps, so one long pause or a burst does not move it', () => {
    expect(typicalInterval([1_000, 1_000, 60_000])).toBe(1_000);
    expect(typicalInterval([2_000, 2_000, 2_000, 1, 1])).toBe(2_000);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });

  it('falls back to a default until it has enough gaps, and never goes below the floor', () => {
    expect(typicalInterval([])).toBe(Stale.DEFAULT_TYPICAL_MS);
    expect(typicalInterval([9_000, 9_000])).toBe(Stale.DEFAULT_TYPICAL_MS);
    expect(typicalInterval([10, 10, 10])).toBe(Stale.MIN_TYPICAL_MS);
  });
});

describe('price flash', () => {
  it('follows the direction of the change, and does not flash without one', () => {
    expect(directionOf(undefined, 10)).toBeUndefined();
    expect(directionOf(10, 10)).toBeUndefined();
    expect(directionOf(10, 10.5)).toBe('up');
    expect(directionOf(10, 9.5)).toBe('down');
  });

  it('alternates between two classes per direction so every change restarts the animation', () => {
    expect(flashClass('up', 1)).toBe('flash-up-1');
    expect(flashClass('up', 2)).toBe('flash-up-0');
    expect(flashClass('down', 3)).toBe('flash-down-1');
    expect(flashClass(undefined, 3)).toBe('');
  });
});
