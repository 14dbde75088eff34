/**
 * Per-visitor limits of the routes that spend the shared API key: requests per visitor in
 * fixed one-minute windows, in memory (per replica). Whom a request counts against is
 * libs/platform's addressSource of the visitor's address (IPv6 by /64).
 */

/** Visitors remembered at most per limit; past it the entries whose minute is over go first, then the oldest. */
const VISITORS_MAX = 50_000;

export interface VisitorLimit {
  /** Seconds to wait when over the limit, else 0 (and the request is counted). */
  take(visitor: string, now?: number): number;
}

/** Entries are (re)inserted when their window starts, so the Map's order is that of their expiry: eviction drops from the front. */
export function createVisitorLimit(perMinute: number): VisitorLimit {
  const windows = new Map<string, { count: number; resetAt: number }>();
  return {
    take(visitor, now = Date.now()) {
      let entry = windows.get(visitor);
      if (entry && entry.resetAt <= now) {
        windows.delete(visitor);
        entry = undefined;
      }
      if (!entry) {
        for (const [key, old] of windows) {
          if (windows.size < VISITORS_MAX && old.resetAt > now) break;
          windows.delete(key);
        }
        entry = { count: 0, resetAt: now + 60_000 };
        windows.set(visitor, entry);
      }
      if (entry.count >= perMinute) return Math.max(1, Math.ceil((entry.resetAt - now) / 1000));
      entry.count += 1;
      return 0;
    },
  };
}

/** The routes that spend the key, each with its own limit and the variable that sets it. */
export type LimitedRoute = 'api' | 'stream_token' | 'gateway';

export const LIMIT_NAMES: Record<LimitedRoute, string> = {
  api: 'VISITOR_API_PER_MIN',
  stream_token: 'VISITOR_TOKENS_PER_MIN',
  gateway: 'VISITOR_STREAMS_PER_MIN',
};
