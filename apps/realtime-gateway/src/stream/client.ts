import { compareSeq, MessageType, previousSeq, SEQ_ZERO, type SymbolView } from '@md/contracts';
import type { StreamFilter } from './filter';
import type { Published } from './published';

export type Transport = 'sse' | 'ws';
export type DropReason = 'buffer' | 'heartbeat';

/** One connection's socket, as the stream client needs it (SSE response or WebSocket). */
export interface Sink {
  readonly transport: Transport;
  /** A realtime message; `id` is the resume point (the SSE `id:`), `skipped` the views conflated away before it. */
  encode(message: Published, id: string, skipped: number): string;
  /** A control event (snapshot, reset, error, subscribed) with an optional resume point. */
  encodeEvent(event: string, data: object, id?: string): string;
  write(frame: string): void;
  /** Bytes written but not yet handed to the kernel. */
  bufferedBytes(): number;
  /** Called whenever the socket has written out what was buffered after a write reported it full. */
  onDrain(listener: () => void): void;
  /** Keeps the connection alive; false when the peer is known dead. */
  heartbeat(): boolean;
  close(): void;
}

/** What the hub counts for its metrics, per client event. */
export interface ClientStats {
  sent(client: StreamClient, message: Published, replayed: boolean): void;
  conflated(client: StreamClient): void;
  dropped(client: StreamClient, reason: DropReason): void;
}

export interface Snapshot {
  seq: string;
  views: SymbolView[];
}

/** While congested, a held view is still written this often (so a stalled client ends up dropped). */
const CONGESTED_INTERVAL_MS = 1_000;

/** Output limits of a client: above `congestedBytes` views are conflated, above `maxBytes` the client is dropped. */
export interface ClientLimits {
  congestedBytes: number;
  maxBytes: number;
}

/**
 * The state of one stream connection. Messages reach it in seq order (history replay, then
 * live); it keeps the highest seq it has processed, so a message offered twice (the replay
 * overlapping the live feed, or the hub resyncing) is written once, and never out of order.
 *
 * Views may be conflated — with `maxHz`, or while the socket is congested: the newest pending
 * view per symbol is kept and written later with `skipped` (how many it replaced). The SSE id
 * written is then the seq just before the oldest held view, so a reconnect resumes from where
 * nothing was lost rather than from where the client happened to be.
 */
export class StreamClient {
  /** Highest seq processed (written, held, or filtered out). */
  private seq = SEQ_ZERO;
  private live = false;
  private closed = false;
  private waiting: Published[] = [];
  private readonly held = new Map<string, { message: Published; skipped: number }>();
  private readonly lastViewAt = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private drainWaiters: (() => void)[] = [];
  private readonly minIntervalMs: number;

  constructor(
    readonly sink: Sink,
    public filter: StreamFilter,
    maxHz: number | undefined,
    private readonly limits: ClientLimits,
    private readonly stats: ClientStats,
    private readonly onClose: (client: StreamClient) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.minIntervalMs = maxHz ? 1_000 / maxHz : 0;
    sink.onDrain(() => {
      this.wakeDrainWaiters();
      this.flushHeld();
    });
  }

  /** Whether the socket is behind: views are then conflated, and a replay waits for it. */
  get congested(): boolean {
    return this.sink.bufferedBytes() > this.limits.congestedBytes;
  }

  /** Resolves when the socket has drained or the client has closed. */
  drained(): Promise<void> {
    if (this.closed || !this.congested) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get lastSeq(): string {
    return this.seq;
  }

  /** A live message from the hub; kept in order until the client is live. */
  offer(message: Published): void {
    if (this.closed) return;
    if (this.live) this.deliver(message, false);
    else this.waiting.push(message);
  }

  /** A missed message read back from history, on resume. */
  replay(message: Published): void {
    if (!this.closed) this.deliver(message, true);
  }

  /** The latest views as of `snapshot.seq`: the client's whole state; messages up to that seq are covered by it. */
  snapshot(snapshot: Snapshot): void {
    if (this.closed) return;
    this.held.clear();
    this.seq = snapshot.seq;
    const views = this.filter.wantsViews()
      ? snapshot.views.filter((view) => this.filter.symbols === null || this.filter.symbols.has(view.symbol))
      : [];
    this.writeFrame(this.sink.encodeEvent('snapshot', { type: 'snapshot', seq: snapshot.seq, views }, snapshot.seq));
  }

  /** The client's resume point cannot be served (beyond history, unknown, or the gateway lost messages). */
  reset(reason: string, snapshot: Snapshot): void {
    if (this.closed) return;
    this.writeFrame(this.sink.encodeEvent('reset', { type: 'reset', reason }));
    this.snapshot(snapshot);
  }

  /** Writes what arrived while the client was starting (after its snapshot or replay), then passes messages straight on. */
  goLive(): void {
    if (this.closed || this.live) return;
    this.live = true;
    const waiting = this.waiting;
    this.waiting = [];
    for (const message of waiting) this.deliver(message, false);
  }

  /** Keeps live messages waiting again (while a fresh snapshot is read). */
  pause(): void {
    this.live = false;
  }

  /** A control event outside the message sequence (WS acknowledgements and errors). */
  event(event: string, data: object): void {
    if (!this.closed) this.writeFrame(this.sink.encodeEvent(event, data));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held.clear();
    this.waiting = [];
    this.wakeDrainWaiters();
    this.sink.close();
    this.onClose(this);
  }

  drop(reason: DropReason): void {
    if (this.closed) return;
    this.stats.dropped(this, reason);
    this.close();
  }

  private deliver(message: Published, replayed: boolean): void {
    if (compareSeq(message.seq, this.seq) <= 0) return;
    this.seq = message.seq;
    if (!this.filter.matches(message)) return;
    if (message.type === MessageType.SymbolUpdated && this.mustHold(message.symbol, replayed)) this.hold(message);
    else this.send(message, 0, replayed);
  }

  /** A replay is paced by the socket (see StreamHub.start), so only maxHz conflates it. */
  private mustHold(symbol: string, replayed: boolean): boolean {
    if (this.held.has(symbol)) return true;
    if (!replayed && this.congested) return true;
    return this.minIntervalMs > 0 && this.now() - (this.lastViewAt.get(symbol) ?? -Infinity) < this.minIntervalMs;
  }

  private hold(message: Published): void {
    const pending = this.held.get(message.symbol);
    if (pending) {
      pending.message = message;
      pending.skipped += 1;
      this.stats.conflated(this);
    } else {
      this.held.set(message.symbol, { message, skipped: 0 });
    }
    this.schedule();
  }

  private intervalMs(congested: boolean): number {
    return congested ? Math.max(this.minIntervalMs, CONGESTED_INTERVAL_MS) : this.minIntervalMs;
  }

  private schedule(): void {
    if (this.timer || this.closed || this.held.size === 0) return;
    const interval = this.intervalMs(this.congested);
    const now = this.now();
    let due = Infinity;
    for (const symbol of this.held.keys()) due = Math.min(due, (this.lastViewAt.get(symbol) ?? -Infinity) + interval);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushHeld();
    }, Math.max(1, due - now));
  }

  /** Writes every held view that is due (all of them when the socket has drained and no maxHz applies). */
  private flushHeld(): void {
    if (this.closed) return;
    const interval = this.intervalMs(this.congested);
    const now = this.now();
    for (const [symbol, pending] of this.held) {
      if (now - (this.lastViewAt.get(symbol) ?? -Infinity) < interval) continue;
      this.held.delete(symbol);
      this.send(pending.message, pending.skipped, false);
      if (this.closed) return;
    }
    this.schedule();
  }

  private send(message: Published, skipped: number, replayed: boolean): void {
    if (message.type === MessageType.SymbolUpdated) this.lastViewAt.set(message.symbol, this.now());
    this.writeFrame(this.sink.encode(message, this.resumeId(), skipped));
    this.stats.sent(this, message, replayed);
  }

  /** Everything up to this seq has been written or superseded by something written. */
  private resumeId(): string {
    let oldest: string | undefined;
    for (const { message } of this.held.values()) if (!oldest || compareSeq(message.seq, oldest) < 0) oldest = message.seq;
    return oldest ? previousSeq(oldest) : this.seq;
  }

  private writeFrame(frame: string): void {
    this.sink.write(frame);
    if (this.sink.bufferedBytes() > this.limits.maxBytes) this.drop('buffer');
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
