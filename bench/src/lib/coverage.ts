/**
 * Did every client get every message? Latency alone cannot tell a client that received all
 * its messages late from one that received a tenth of them. Each client of a fleet remembers
 * the first and the newest seq it received in a phase and how many messages it received; the
 * realtime history stream holds every message published, by seq. A client is complete when it
 * received exactly the messages of its filter published from its first seq to its newest one:
 * none conflated, dropped or lost on the way (a duplicate would count above 1).
 */

/** What a client received in a phase: [first seq ms, first seq n, newest seq ms, newest seq n, messages], or null for none. */
export type ClientReceipt = [number, number, number, number, number] | null;

/** A seq (`<ms>-<n>`) as its two numbers, in the order of the stream. */
export type Seq = [number, number];

export interface Coverage {
  clients: number;
  /** Clients that received exactly what was published between their first and newest seq. */
  complete: number;
  /** Clients that received nothing in the phase. */
  silent: number;
  received: number;
  expected: number;
  /** The lowest received ÷ expected of a client (null: no client received anything). */
  worst: number | null;
}

const compare = (a: Seq, b: Seq) => a[0] - b[0] || a[1] - b[1];

/** How many of `sorted` come before `seq` (with `inclusive`, also those equal to it). */
function countBefore(sorted: Seq[], seq: Seq, inclusive: boolean): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    const order = compare(sorted[mid], seq);
    if (order < 0 || (inclusive && order === 0)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** `published`: the seqs of the messages the clients' filter takes, in stream order. */
export function coverage(published: Seq[], receipts: ClientReceipt[]): Coverage {
  let complete = 0;
  let silent = 0;
  let received = 0;
  let expected = 0;
  let worst: number | null = null;
  for (const receipt of receipts) {
    if (!receipt) {
      silent += 1;
      continue;
    }
    const [firstMs, firstN, lastMs, lastN, count] = receipt;
    const due = countBefore(published, [lastMs, lastN], true) - countBefore(published, [firstMs, firstN], false);
    received += count;
    expected += due;
    if (count === due) complete += 1;
    const ratio = due > 0 ? count / due : 1;
    worst = worst === null ? ratio : Math.min(worst, ratio);
  }
  return { clients: receipts.length, complete, silent, received, expected, worst };
}
