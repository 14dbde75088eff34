/**
 * The tick: what the feeder sends, what the api normalises, what the queue carries.
 * Pure data and rules, no framework: the dashboard and feeder import this too.
 */

/** A tick as a client may send it (`ts` as ISO-8601 with an offset, or epoch ms). */
export interface TickInput {
  symbol: string;
  price: number;
  volume: number;
  source: string;
  ts: string | number;
  event_id: string;
}

/** A validated, normalised tick: `symbol` upper-case, `ts` epoch ms. */
export interface Tick {
  symbol: string;
  price: number;
  volume: number;
  source: string;
  ts: number;
  event_id: string;
}

/** What the ingest path enqueues: the tick plus when the api received it (epoch ms). */
export interface ReceivedTick extends Tick {
  receivedAt: number;
  /** The request's trace id, so logs downstream can be joined with the ingest log line. */
  traceId?: string;
}

export const TickRules = {
  symbolPattern: /^[A-Za-z0-9._:/-]{1,32}$/,
  symbolMaxLength: 32,
  sourceMaxLength: 64,
  eventIdMaxLength: 128,
  /** Visible ASCII, no spaces: ids end up in Redis keys, URLs and logs. */
  eventIdPattern: /^[\x21-\x7E]{1,128}$/,
  /** Printable text: no control, format, surrogate or unassigned code points. */
  sourcePattern: /^[^\p{C}]{1,64}$/u,
  /**
   * Price bounds. Every number a view computes stays finite with them: a product price·volume
   * is at most 1e21, so the 1-minute sums (Σ volume ≤ n·1e12, Σ price·volume ≤ n·1e21) stay
   * far below Number.MAX_VALUE (1.8e308) for any count of ticks a window can hold; and
   * changePct1m = 100·(price − open)/open ≤ 100·1e9/1e-12 = 1e23. 1e9 is above any traded
   * price (BRK.A ≈ 7e5 USD, BTC ≈ 1e5, an index quoted in a weak currency ≈ 1e8); 1e-12 is
   * below the smallest quoted token prices (≈ 1e-10).
   */
  minPrice: 1e-12,
  maxPrice: 1e9,
  /** Largest volume: 1e12 units is more than any single trade, meme tokens included. */
  maxVolume: 1e12,
  /**
   * Smallest volume other than 0: with minPrice, a product price·volume is at least 1e-24, a
   * normal double (subnormals lose precision, and 1e-12 × 5e-324 is 0, which would put the
   * VWAP at 0, below the window's low). 1e-12 is below the smallest lot of any venue.
   */
  minVolume: 1e-12,
  /** Default of MAX_FUTURE_SKEW_MS: how far ahead of the receiving clock a tick may be. */
  defaultMaxFutureSkewMs: 5_000,
  /** Ticks before 2000-01-01 are certainly a unit error (seconds sent as ms, say). */
  minTs: Date.UTC(2000, 0, 1),
  /** Largest batch on POST /ingest/ticks. */
  maxBatch: 1000,
  /** Largest body on POST /ingest/tick, in bytes. */
  maxBodyBytes: 16 * 1024,
} as const;

/**
 * ISO-8601 date-time with an explicit offset (`Z` or `±hh:mm`). A time without an offset
 * is local time by the standard, so it would mean different instants on different hosts:
 * we refuse it rather than guess.
 */
const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** Epoch ms for an ISO-8601 string with offset or an epoch-ms number; `undefined` if neither. */
export function parseTickTs(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const match = typeof value === 'string' ? ISO_WITH_OFFSET.exec(value) : null;
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  // Date.parse rolls impossible dates over (Feb 30 → Mar 2): check the fields first.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const ms = Date.parse(value as string);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Why a normalised `ts` is unacceptable at `now`, or `undefined` when it is fine. A tick may
 * be at most `maxFutureSkewMs` ahead of `now` (the api's MAX_FUTURE_SKEW_MS).
 */
export function tsProblem(ts: number, now: number, maxFutureSkewMs: number = TickRules.defaultMaxFutureSkewMs): string | undefined {
  if (ts < TickRules.minTs) return 'ts must not be before 2000-01-01T00:00:00Z (is it in seconds?)';
  if (ts > now + maxFutureSkewMs) return `ts must not be more than ${maxFutureSkewMs} ms ahead of the server clock`;
  return undefined;
}
