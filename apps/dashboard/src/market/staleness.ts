/**
 * When a symbol is stale: the age of its last update against its own usual update interval,
 * so a symbol that updates every 5 s is not flagged when one that updates 10 times a second
 * would be.
 *  - typical interval: the median of its recent inter-arrival gaps (robust to the odd burst
 *    or pause), once there are at least MIN_SAMPLES of them; DEFAULT_TYPICAL_MS before that;
 *    never below MIN_TYPICAL_MS, so jitter on a very fast symbol does not flicker amber;
 *  - amber when the age passes AMBER_FACTOR × typical, red past RED_FACTOR × typical.
 */
export const Stale = {
  AMBER_FACTOR: 3,
  RED_FACTOR: 10,
  MIN_SAMPLES: 3,
  DEFAULT_TYPICAL_MS: 1_000,
  MIN_TYPICAL_MS: 500,
  /** Gaps kept per symbol. */
  MAX_GAPS: 21,
} as const;

export type Staleness = 'fresh' | 'amber' | 'red';

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The typical interval between a symbol's updates, from its recent gaps. */
export function typicalInterval(gaps: readonly number[]): number {
  const typical = gaps.length >= Stale.MIN_SAMPLES ? (median(gaps) ?? Stale.DEFAULT_TYPICAL_MS) : Stale.DEFAULT_TYPICAL_MS;
  return Math.max(Stale.MIN_TYPICAL_MS, typical);
}

export function staleness(ageMs: number, typicalMs: number): Staleness {
  if (ageMs > Stale.RED_FACTOR * typicalMs) return 'red';
  if (ageMs > Stale.AMBER_FACTOR * typicalMs) return 'amber';
  return 'fresh';
}
