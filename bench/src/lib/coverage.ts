/**
 * Did every client get every message? Latency alone cannot tell a client that received all
 * its messages late from one that received a tenth of them. Each client of a fleet remembers
 * the first and the newest seq it received in a phase, how many messages it received in seq
 * order (a duplicate or an older message does not count) and how many resets it got; the
 * realtime history stream holds every message published, by seq. A client is complete when it
 * received exactly the messages of its filter published from its first seq to its newest one,
 * got no reset, and its first and newest seq are within SLACK_MS of the earliest first and the
 * latest newest seq of all clients: it did not start late or stop early. A client that was
 * connected but is gone (dropped, closed) or received nothing is not complete.
 */

/** What a client received in a phase: [first seq ms, first seq n, newest seq ms, newest seq n, messages, resets], or null for none. */
export type ClientReceipt = [number, number, number, number, number, number] | null;

/** A seq (`<ms>-<n>`) as its two numbers, in the order of the stream. */
export type Seq = [number, number];

/** Clients start and stop reading within this of each other (the phase's edges, messages in flight). */
export const SLACK_MS = 1_000;

export interface Coverage {
  /** Clients connected for the phase. */
  clients: number;
  /** Clients that received exactly what was published while the phase ran, in order, no reset. */
  complete: number;
  /** Clients connected for the phase with no receipt (dropped or closed), or that received nothing. */
  gone: number;
  silent: number;
  /** Clients whose first or newest seq is more than SLACK_MS from the others'. */
  lagging: number;
  resets: number;
  received: number;
  expected: number;
  /** The lowest received ÷ expected of a client, 0 for one gone or silent (null: no client). */
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

/**
 * `published`: the seqs of the messages the clients' filter takes, in stream order;
 * `connected`: the clients connected for the phase (some may have no receipt: gone).
 */
export function coverage(published: Seq[], receipts: ClientReceipt[], connected = receipts.length): Coverage {
  const seen = receipts.filter((r): r is NonNullable<ClientReceipt> => r !== null);
  const earliest = Math.min(...seen.map((r) => r[0]));
  const latest = Math.max(...seen.map((r) => r[2]));
  const gone = Math.max(0, connected - receipts.length);
  const silent = receipts.length - seen.length;
  let complete = 0;
  let lagging = 0;
  let resets = 0;
  let received = 0;
  let expected = 0;
  let worst: number | null = gone + silent > 0 ? 0 : null;
  for (const [firstMs, firstN, lastMs, lastN, count, resetCount] of seen) {
    const due = countBefore(published, [lastMs, lastN], true) - countBefore(published, [firstMs, firstN], false);
    const late = firstMs - earliest > SLACK_MS || latest - lastMs > SLACK_MS;
    received += count;
    expected += due;
    resets += resetCount;
    if (late) lagging += 1;
    if (count === due && due > 0 && !late && resetCount === 0) complete += 1;
    const ratio = due > 0 ? count / due : 0;
    worst = worst === null ? ratio : Math.min(worst, ratio);
  }
  return { clients: Math.max(connected, receipts.length), complete, gone, silent, lagging, resets, received, expected, worst };
}
