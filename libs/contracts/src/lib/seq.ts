/**
 * Sequence numbers of the realtime channel (browser-safe: the gateway, the dashboard and the fault
 * suite order them the same way): the ids of the history stream's entries,
 * "<ms>-<n>", assigned by Redis in the same atomic step as the publish. Ordered by (ms, n).
 */
const SEQ = /^(\d{1,16})-(\d{1,20})$/;
const ZERO = 48; // '0'

/** The position before any message. */
export const SEQ_ZERO = '0-0';

export function isSeq(value: string): boolean {
  return SEQ.test(value);
}

/**
 * Negative, zero or positive as a is before, equal to or after b. Both must be valid seqs.
 * Runs once per client and message, so it allocates nothing: ms parts without a leading zero
 * (every id Redis assigns) compare by length, then digit by digit; others (a client's
 * Last-Event-ID of "007-1") by value. The part after the dash may pass 2^53: it is compared
 * as a decimal string.
 */
export function compareSeq(a: string, b: string): number {
  if (a === b) return 0;
  const dashA = a.indexOf('-');
  const dashB = b.indexOf('-');
  let order: number;
  if ((dashA === 1 || a.charCodeAt(0) !== ZERO) && (dashB === 1 || b.charCodeAt(0) !== ZERO)) {
    order = dashA - dashB;
    for (let i = 0; order === 0 && i < dashA; i++) order = a.charCodeAt(i) - b.charCodeAt(i);
  } else {
    order = Number(a.slice(0, dashA)) - Number(b.slice(0, dashB));
  }
  if (order !== 0) return order;
  order = a.length - dashA - (b.length - dashB);
  for (let i = dashA + 1; order === 0 && i < a.length; i++) order = a.charCodeAt(i) - b.charCodeAt(i - dashA + dashB);
  return order;
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
