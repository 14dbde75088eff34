/**
 * Tick order: by ts, then by event_id compared code unit by code unit. For the visible-ASCII
 * event_ids the api accepts this is byte order, the order Redis sorted sets use for equal
 * scores, so the Lua side and this lib agree on "newest" and "oldest".
 */
export interface Ordered {
  ts: number;
  event_id: string;
}

export function compareTicks(a: Ordered, b: Ordered): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0;
}
