import { backoffMs } from '@md/common';
import {
  compareSeq,
  type RealtimeMessage,
  type ResetMessage,
  type SnapshotMessage,
  type StreamMessage,
  type StreamToken,
} from '@md/contracts';

/**
 * How the stream is, as the pipeline panel shows it:
 *  - connecting: the first connection is being made;
 *  - connected: open, state from a snapshot;
 *  - reconnecting: dropped; the browser (or this client, with a new token) is reconnecting;
 *  - resumed: reconnected and resumed where it left off (the missed messages were replayed);
 *  - reset: reconnected, but the resume point was beyond the gateway's history: state reloaded from a new snapshot;
 *  - closed: stopped by the app.
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'resumed' | 'reset' | 'closed';

export type StreamType = RealtimeMessage['type'];

/** What the client needs of an EventSource (the browser's, or a fake in tests). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onerror: ((event: Event) => void) | null;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

export interface StreamHandlers {
  /** The whole state: replaces everything the client holds. */
  snapshot(message: SnapshotMessage): void;
  /**
   * A live message, never one already seen; in seq order per symbol and type (with maxHz a view
   * held back by the gateway may come after a newer message of another symbol). `arrivedAt` is
   * Date.now() at arrival.
   */
  message(message: RealtimeMessage, arrivedAt: number): void;
  /** The resume point was lost: a snapshot follows. */
  reset?(message: ResetMessage): void;
  state?(state: ConnectionState): void;
}

export interface StreamClientOptions {
  /** The gateway's /stream, e.g. '/gw/stream' (through the dashboard server) or an absolute URL. */
  streamUrl: string;
  symbols?: string[];
  types?: StreamType[];
  maxHz?: number;
  /** A short-lived stream token from the dashboard server, which adds the API key. */
  fetchToken: () => Promise<StreamToken>;
  createEventSource?: EventSourceFactory;
  now?: () => number;
  /** Backoff of the reconnects this client makes itself (after a closed EventSource or a failed token). */
  retry?: { baseMs: number; maxMs: number };
  random?: () => number;
}

const CLOSED = 2;
/** A token this close to its expiry is not used for a new connection. */
const TOKEN_MARGIN_MS = 10_000;

/**
 * The dashboard's side of the gateway's event stream.
 *
 * The browser's EventSource reconnects by itself after a network drop and resends the last id
 * it saw as Last-Event-ID; the gateway then replays what was missed, or answers `reset` and a
 * new snapshot when that id is beyond its history. When the EventSource gives up for good (an
 * HTTP error such as 401 once the token in its URL has expired), this client fetches a new
 * token and opens a new EventSource with `lastEventId=` the last SSE id it got, with backoff.
 *
 * The SSE id is the gateway's resume point, not the message's seq: with maxHz a view may be
 * held back and sent after newer messages of other symbols, and the ids written meanwhile stay
 * before it (so a resume replays it). Duplicates (replays, or already in the snapshot) are
 * therefore dropped per symbol and type: messages at or before the snapshot's seq, or at or
 * before the last seq seen for that symbol and type, which the gateway sends in seq order.
 */
export class StreamClient {
  private source?: EventSourceLike;
  private token?: StreamToken;
  /** The last SSE id received: where a new EventSource resumes. */
  private lastId?: string;
  /** Everything up to this seq is in the state (the last snapshot). */
  private floor?: string;
  /** The newest seq handed on per `type|symbol` since that snapshot. */
  private readonly seen = new Map<string, string>();
  private current: ConnectionState = 'connecting';
  /** Set when a connection drops; cleared once the next one has opened. */
  private dropped = false;
  private failures = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = false;
  private readonly now: () => number;
  private readonly createEventSource: EventSourceFactory;

  constructor(
    private readonly options: StreamClientOptions,
    private readonly handlers: StreamHandlers,
  ) {
    this.now = options.now ?? Date.now;
    this.createEventSource = options.createEventSource ?? ((url) => new EventSource(url));
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The last SSE id received (snapshot or message): where a new connection resumes. */
  get lastEventId(): string | undefined {
    return this.lastId;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.source?.close();
    this.source = undefined;
    this.setState('closed');
  }

  /** The stream URL with the filter, the token and, when known, where to resume. */
  urlFor(token: string): string {
    const params = new URLSearchParams();
    if (this.options.symbols?.length) params.set('symbols', this.options.symbols.join(','));
    if (this.options.types?.length) params.set('types', this.options.types.join(','));
    if (this.options.maxHz) params.set('maxHz', String(this.options.maxHz));
    params.set('token', token);
    if (this.lastId) params.set('lastEventId', this.lastId);
    return `${this.options.streamUrl}?${params.toString()}`;
  }

  private async connect(): Promise<void> {
    let token: StreamToken;
    try {
      token = await this.freshToken();
    } catch {
      this.retryLater();
      return;
    }
    if (this.stopped) return;
    const source = this.createEventSource(this.urlFor(token.token));
    this.source = source;
    // A large snapshot comes in chunks of one seq, all but the last with `more`: the state is
    // replaced once, with all of them, and the resume point moves only with the last. A
    // connection lost half-way starts over (the browser resumes from before that snapshot).
    let chunks: SnapshotMessage | undefined;
    source.onopen = () => {
      if (source !== this.source) return;
      chunks = undefined;
      this.failures = 0;
      // After a drop with a resume point, the gateway replays from it (or says `reset`).
      if (this.dropped && this.lastId) this.setState('resumed');
      else this.setState('connected');
      this.dropped = false;
    };
    source.onerror = () => {
      if (source !== this.source || this.stopped) return;
      this.dropped = true;
      this.setState('reconnecting');
      if (source.readyState === CLOSED) {
        // The browser has given up on this one (an HTTP error, e.g. 401 for an expired token).
        source.close();
        this.source = undefined;
        this.token = undefined;
        this.retryLater();
      }
    };
    source.addEventListener('snapshot', (event) => {
      if (source !== this.source) return;
      const message = parse<SnapshotMessage>(event.data);
      if (!message) return;
      const whole = chunks?.seq === message.seq ? { ...message, views: [...chunks.views, ...message.views] } : message;
      if (message.more) {
        chunks = whole;
        return;
      }
      chunks = undefined;
      this.lastId = event.lastEventId || whole.seq;
      this.floor = whole.seq;
      this.seen.clear();
      this.handlers.snapshot({ type: 'snapshot', seq: whole.seq, views: whole.views });
    });
    source.addEventListener('reset', (event) => {
      if (source !== this.source) return;
      chunks = undefined;
      const message = parse<ResetMessage>(event.data);
      this.setState('reset');
      if (message) this.handlers.reset?.(message);
    });
    const live = (event: MessageEvent<string>) => {
      if (source !== this.source) return;
      const message = parse<RealtimeMessage>(event.data);
      // The id moves even for a message dropped below: the gateway has sent everything up to it.
      if (event.lastEventId) this.lastId = event.lastEventId;
      if (!message) return;
      const seq = message.seq ?? (event.lastEventId || undefined);
      if (seq) {
        if (this.floor && compareSeq(seq, this.floor) <= 0) return; // in the snapshot
        const key = `${message.type}|${message.symbol}`;
        const last = this.seen.get(key);
        if (last && compareSeq(seq, last) <= 0) return; // seen already (a replay)
        this.seen.set(key, seq);
      }
      this.handlers.message(message, this.now());
    };
    source.addEventListener('symbol.updated', live);
    source.addEventListener('tick.received', live);
  }

  private async freshToken(): Promise<StreamToken> {
    if (this.token && this.token.expiresAt - this.now() > TOKEN_MARGIN_MS) return this.token;
    this.token = await this.options.fetchToken();
    return this.token;
  }

  private retryLater(): void {
    if (this.stopped) return;
    this.setState('reconnecting');
    const { baseMs, maxMs } = this.options.retry ?? { baseMs: 500, maxMs: 15_000 };
    const delay = backoffMs(this.failures, { baseMs, maxMs, jitter: 'half', random: this.options.random });
    this.failures += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  private setState(state: ConnectionState): void {
    if (state === this.current) return;
    this.current = state;
    this.handlers.state?.(state);
  }
}

/** One event's data, as the gateway sent it (the contracts' StreamMessage); undefined if it is not JSON. */
function parse<T extends StreamMessage>(data: string): T | undefined {
  try {
    return JSON.parse(data) as T;
  } catch {
    return undefined;
  }
}
