/**
 * The states of a tick's dedupe key (`RedisKeys.dedupe(event_id)`), shared by the api's ingest
 * (claim, commit, release, undo) and calc-a. The Lua scripts read them as DEDUPE_PENDING,
 * DEDUPE_ACCEPTED and DEDUPE_COUNTED, which the script registry defines from these values
 * (see scripts.ts), so the TypeScript and the Lua cannot drift apart.
 */
export const DedupeState = {
  /** Claimed by an ingest request that has not committed yet: a short lease (mdClaim). */
  Pending: 'p',
  /** Accepted: the ingest MULTI enqueued the tick and set this for DEDUPE_TTL_S. */
  Accepted: '1',
  /** Counted into its symbol's window by calc-a (mdCalcA): a redelivery changes no state. */
  Counted: '2',
} as const;
export type DedupeState = (typeof DedupeState)[keyof typeof DedupeState];

/** What mdClaim answers for each tick (see lua/claim.lua). */
export const ClaimResult = {
  ClaimedNewSymbol: 2,
  Claimed: 1,
  Committed: 0,
  Pending: -1,
  SymbolCap: -2,
  BufferFull: -3,
} as const;
export type ClaimResult = (typeof ClaimResult)[keyof typeof ClaimResult];

/** What mdCalcA answers for each tick of a chunk, one character each (see lua/calc-a.lua). */
export const CountResult = {
  /** Counted into its symbol's window now. */
  Counted: 'c',
  /** Its event_id was counted before (a redelivery, a retry): nothing changed. */
  CountedBefore: 'd',
  /** Refused: the symbol's sums would stop being finite numbers. Nothing of it is stored. */
  Refused: 'x',
} as const;
export type CountResult = (typeof CountResult)[keyof typeof CountResult];
