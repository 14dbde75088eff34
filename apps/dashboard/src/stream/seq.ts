/**
 * Order of two stream seqs: Redis stream ids "<ms>-<n>", compared as two integers (as strings,
 * "9-0" would sort after "10-0"). Negative when a < b, 0 when equal, positive when a > b.
 */
export function compareSeq(a: string, b: string): number {
  const [aMs, aN] = parts(a);
  const [bMs, bN] = parts(b);
  return aMs !== bMs ? Math.sign(aMs - bMs) : Math.sign(aN - bN);
}

function parts(seq: string): [number, number] {
  const dash = seq.indexOf('-');
  return dash < 0 ? [Number(seq), 0] : [Number(seq.slice(0, dash)), Number(seq.slice(dash + 1))];
}
