/**
 * Sequence numbers of the realtime channel: the ids of the history stream's entries,
 * "<ms>-<n>", assigned by Redis in the same atomic step as the publish. Ordered by (ms, n).
 */
const SEQ = /^(\d{1,16})-(\d{1,20})$/;

/** The position before any message. */
export const SEQ_ZERO = '0-0';

export function isSeq(value: string): boolean {
  return SEQ.test(value);
}

/** Negative, zero or positive as a is before, equal to or after b. Both must be valid seqs. */
export function compareSeq(a: string, b: string): number {
  if (a === b) return 0;
  const dash = a.indexOf('-');
  const dashB = b.indexOf('-');
  const msA = Number(a.slice(0, dash));
  const msB = Number(b.slice(0, dashB));
  if (msA !== msB) return msA - msB;
  // The part after the dash may pass 2^53; compare as decimal strings.
  const nA = a.slice(dash + 1);
  const nB = b.slice(dashB + 1);
  return nA.length !== nB.length ? nA.length - nB.length : nA < nB ? -1 : nA > nB ? 1 : 0;
}

/** The greatest seq before `seq` (for "everything up to, not including, seq"). */
export function previousSeq(seq: string): string {
  const dash = seq.indexOf('-');
  const ms = seq.slice(0, dash);
  const n = BigInt(seq.slice(dash + 1));
  if (n > 0n) return `${ms}-${n - 1n}`;
  if (ms === '0') return SEQ_ZERO;
  return `${Number(ms) - 1}-18446744073709551615`;
}
