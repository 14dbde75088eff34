import { type FieldError, MessageType, TickRules } from '@md/contracts';
import type { Published } from './published';

export const MESSAGE_TYPES: readonly string[] = Object.values(MessageType);
export const MAX_SYMBOLS = 1_000;
export const MAX_HZ = 1_000;
/** The longest symbol (TickRules.symbolPattern). */
const SYMBOL_MAX_LENGTH = 32;

/**
 * The largest WS frame the gateway reads (ws `maxPayload`; larger: close 1009): a subscribe
 * message with MAX_SYMBOLS symbols of the longest length, each quoted with a comma, every type,
 * and room for the envelope. 36,024 bytes, where ws would otherwise take 100 MiB per frame
 * before the connection is even authenticated.
 */
export const WS_MAX_PAYLOAD = MAX_SYMBOLS * (SYMBOL_MAX_LENGTH + 3) + 1_024;

/** What a client asked for: symbols (null = all) and message types. */
export class StreamFilter {
  constructor(
    readonly symbols: ReadonlySet<string> | null,
    readonly types: ReadonlySet<string>,
  ) {}

  matches(message: Published): boolean {
    return this.types.has(message.type) && (this.symbols === null || this.symbols.has(message.symbol));
  }

  wantsViews(): boolean {
    return this.types.has(MessageType.SymbolUpdated);
  }

  /** After a WS `subscribe`: symbols and types added ('*' = every symbol); omitted = unchanged. */
  subscribe(symbols: string[] | '*' | undefined, types: string[] | undefined): StreamFilter {
    const nextSymbols = symbols === '*' ? null : symbols && this.symbols ? new Set([...this.symbols, ...symbols]) : this.symbols;
    return new StreamFilter(nextSymbols, types ? new Set([...this.types, ...types]) : this.types);
  }

  /**
   * After a WS `unsubscribe`: symbols and types removed ('*' = every symbol). Removing some
   * symbols from "every symbol" has no meaning (there is no list to remove them from): the
   * field error says so.
   */
  unsubscribe(symbols: string[] | '*' | undefined, types: string[] | undefined): StreamFilter | FieldError {
    if (Array.isArray(symbols) && this.symbols === null) {
      return { field: 'symbols', reason: "subscribed to every symbol: unsubscribe '*' first, then subscribe to a list" };
    }
    const without = <T>(set: ReadonlySet<T>, drop: T[]) => new Set([...set].filter((x) => !drop.includes(x)));
    const nextSymbols = symbols === '*' ? new Set<string>() : symbols && this.symbols ? without(this.symbols, symbols) : this.symbols;
    return new StreamFilter(nextSymbols, types ? without(this.types, types) : this.types);
  }
}

export interface StreamOptions {
  filter: StreamFilter;
  /** At most this many view updates per symbol per second (undefined = every one). */
  maxHz?: number;
  /** Resume after this seq (Last-Event-ID header or `lastEventId` query). */
  lastEventId?: string;
}

type Query = Record<string, unknown>;

function single(query: Query, name: string, errors: FieldError[]): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    errors.push({ field: name, reason: `${name} must be given once` });
    return undefined;
  }
  return value;
}

/** Comma-separated symbols, upper-cased as ingest stores them; errors name the field. */
export function parseSymbols(value: string | string[] | undefined, field: string, errors: FieldError[]): string[] | undefined {
  if (value === undefined) return undefined;
  const list = (Array.isArray(value) ? value : value.split(',')).map((s) => (typeof s === 'string' ? s.trim() : s));
  if (list.length > MAX_SYMBOLS) {
    errors.push({ field, reason: `at most ${MAX_SYMBOLS} symbols` });
    return undefined;
  }
  const bad = list.find((s) => typeof s !== 'string' || !TickRules.symbolPattern.test(s));
  if (bad !== undefined) {
    errors.push({ field, reason: `${JSON.stringify(bad).slice(0, 40)} is not a symbol (1-32 of A-Z a-z 0-9 . _ : / -)` });
    return undefined;
  }
  return [...new Set(list.map((s) => (s as string).toUpperCase()))];
}

export function parseTypes(value: string | string[] | undefined, field: string, errors: FieldError[]): string[] | undefined {
  if (value === undefined) return undefined;
  const list = (Array.isArray(value) ? value : value.split(',')).map((s) => (typeof s === 'string' ? s.trim() : s));
  const bad = list.find((t) => typeof t !== 'string' || !MESSAGE_TYPES.includes(t));
  if (bad !== undefined || list.length === 0) {
    errors.push({ field, reason: `must be a comma-separated list of ${MESSAGE_TYPES.join(', ')}` });
    return undefined;
  }
  return [...new Set(list as string[])];
}

/**
 * The stream options of a connection from its query string (`symbols`, `types`, `maxHz`,
 * `lastEventId`) and its Last-Event-ID header (which wins: the browser sets it on reconnect).
 */
export function parseStreamOptions(query: Query, lastEventIdHeader: string | undefined): { options?: StreamOptions; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const symbols = parseSymbols(single(query, 'symbols', errors), 'symbols', errors);
  const types = parseTypes(single(query, 'types', errors), 'types', errors) ?? [MessageType.SymbolUpdated];

  let maxHz: number | undefined;
  const hz = single(query, 'maxHz', errors);
  if (hz !== undefined) {
    maxHz = /^\d+(\.\d+)?$/.test(hz) ? Number(hz) : NaN;
    if (!(maxHz > 0 && maxHz <= MAX_HZ)) errors.push({ field: 'maxHz', reason: `must be a number above 0 and at most ${MAX_HZ}` });
  }

  // An unknown or malformed id is not an error: the client gets a reset and a fresh snapshot.
  const lastEventId = lastEventIdHeader?.trim() || single(query, 'lastEventId', errors);
  if (lastEventId !== undefined && lastEventId.length > 64) errors.push({ field: 'lastEventId', reason: 'must be at most 64 characters' });

  if (errors.length) return { errors };
  return {
    errors,
    options: { filter: new StreamFilter(symbols ? new Set(symbols) : null, new Set(types)), maxHz, lastEventId: lastEventId || undefined },
  };
}
