import { compareSeq, MessageType, SEQ_ZERO, type SymbolView } from '@md/contracts';
import type { StreamFilter } from './filter';
import type { Published } from './published';

export type Transport = 'sse' | 'ws';

/** A view held back by conflation: the newest of its symbol, how many it replaced, and the seq processed just before the first of them. */
export interface Held {
  message: Published;
  skipped: number;
  before: string;
}
export type DropReason = 'buffer' | 'heartbeat';

/** One connection's socket, as the stream client needs it (SSE response or WebSocket). */
export interface Sink {
  readonly transport: Transport;
  /** Whether the same bytes may go to every client of the same filter (SSE: see FanoutGroup). */
  readonly shareable: boolean;
  /** A realtime message; `id` is the resume point (the SSE `id:`; '' when it has not moved since the last one written), `skipped` the views conflated away before it. */
  encode(message: Published, id: string, skipped: number): string;
  /** A control event (snapshot, reset, error, subscribed) with an optional resume point. */
  encodeEvent(event: string, data: object, id?: string): string;
  /** Frames in order, handed to the socket in one call (one system call, not one per frame). */
  write(frames: readonly string[]): void;
  /** Frames already encoded as bytes, the same buffer for many clients (shareable sinks only); `chunk`: the same as one HTTP/1.1 chunk. */
  writeBytes(bytes: Buffer, chunk?: Buffer): void;
  /** Bytes written but not yet handed to the kernel. */
  bufferedBytes(): number;
  /** Called whenever the socket has written out what was buffered after a write reported it full. */
  onDrain(listener: () => void): void;
  /** Keeps the connection alive; false when the peer is known dead. */
  heartbeat(): boolean;
  close(): void;
}

/** What the hub does for its clients: counts for its metrics, and the write tick. */
export interface ClientHost {
  sent(client: StreamClient, message: Published, replayed: boolean): void;
  conflated(client: StreamClient): void;
  dropped(client: StreamClient, reason: DropReason): void;
  /** The client has output gathered or views held: `flush` it on the next write tick. */
  wake(client: StreamClient): void;
}

export interface Snapshot {
  seq: string;
  views: SymbolView[];
  /**
   * The encoded snapshot frames of an all-symbol client, per transport and whether its filter
   * wants views (a ticks-only client gets none): built once per snapshot read (see snapshotCacheKey).
   */
  frames?: Partial<Record<string, string[]>>;
}

/** While congested, a held view is still written this often (so a stalled client ends up dropped). */
const CONGESTED_INTERVAL_MS = 1_000;

/**
 * Output limits of a client: above `congestedBytes` views are conflated, above `maxBytes` the
 * client is dropped; snapshots go out in chunks of about `chunkBytes`.
 */
export interface ClientLimits {
  congestedBytes: number;
  maxBytes: number;
  chunkBytes: number;
  /** Gathered output past this is written at once, not at the tick: a burst goes out in pieces well under `congestedBytes`. */
  burstBytes: number;
}

/**
 * The state of one stream connection. Messages reach it in seq order (history replay, then
 * live); it keeps the highest seq it has processed, so a message offered twice (the replay
 * overlapping the live feed, or the hub resyncing) is written once, and never out of order.
 *
 * Output is gathered and written once per write tick of the hub (STREAM_FLUSH_MS): the SSE
 * framing stays one event per message, only the system calls are shared. While a client is
 * in step with its filter's group (see FanoutGroup) the hub writes the group's bytes to it
 * instead, and this class only sees it join and leave.
 *
 * Views may be conflated — with `maxHz`, or while the socket is congested: the newest pending
 * view per symbol is kept and written later with `skipped` (how many it replaced). The SSE id
 * written is then the last seq processed before the oldest held view, so a reconnect resumes
 * (replaying the held view) from where nothing was lost rather than from where the client
 * happened to be.
 */
export class StreamClient {
  /** Highest seq processed (written, held, or filtered out). */
  private seq = SEQ_ZERO;
  private live = false;
  private closed = false;
  /** A snapshot is being written (chunk by chunk): live messages wait. */
  private snapshotting = false;
  /** Live messages that arrived while starting (or during a fresh snapshot), and their size. */
  private waiting: Published[] = [];
  private waitingBytes = 0;
  /** Per symbol, the newest view held, how many it replaced, and the seq processed just before the first of them (see resumeId). */
  private held?: Map<string, Held>;
  private lastViewAt?: Map<string, number>;
  /** Frames gathered for the next write tick, and their length (written at once past `chunkBytes`). */
  private out: string[] = [];
  private outBytes = 0;
  /** Earliest time a held view may be written (Infinity when nothing is held). */
  private nextDue = Infinity;
  private drainWaiters: (() => void)[] = [];
  /** The last SSE id written on this connection (own frames and group bytes): the next is written only once the resume point moves past it. */
  private lastId = '';
  private readonly minIntervalMs: number;
  /** Set by the hub while the client receives its filter group's shared bytes. */
  grouped = false;

  constructor(
    readonly sink: Sink,
    public filter: StreamFilter,
    readonly maxHz: number | undefined,
    private readonly limits: ClientLimits,
    private readonly host: ClientHost,
    private readonly onClose: (client: StreamClient) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.minIntervalMs = maxHz ? 1_000 / maxHz : 0;
    sink.onDrain(() => {
      this.wakeDrainWaiters();
      // The held views were due on the congested interval: look again now. A client served
      // on its own may also be in step again (and join its group on the tick).
      if (this.held?.size) this.nextDue = 0;
      if (!this.grouped && !this.closed) this.host.wake(this);
    });
  }

  /**
   * Whether the socket is behind: views are then conflated, and a replay or snapshot waits for
   * it. Measured on the socket only: what the client gathers for the next tick is not a sign
   * that the peer reads slowly (it counts toward the cap once written).
   */
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

  /** The last id written on this connection ('' before the first). */
  get writtenId(): string {
    return this.lastId;
  }

  /** Live, in step, nothing held or gathered: its output from now on is exactly its filter's messages. */
  get inStep(): boolean {
    return this.live && !this.closed && !this.snapshotting && !this.maxHz && !this.held?.size && this.out.length === 0 && !this.congested;
  }

  get holding(): boolean {
    return !!this.held?.size;
  }

  /**
   * A maxHz client that may take its RateGroup's bytes: live, nothing gathered, socket not
   * congested. (Whether its held views match the group's is the group's question.)
   */
  get rateReady(): boolean {
    return !!this.maxHz && this.live && !this.closed && !this.snapshotting && this.out.length === 0 && !this.congested;
  }

  /** Its conflation state, for a RateGroup it joins (first member: the group starts from it). */
  conflation(): { held?: ReadonlyMap<string, Held>; lastViewAt?: ReadonlyMap<string, number> } {
    return { held: this.held, lastViewAt: this.lastViewAt };
  }

  /** A live message from the hub; kept in order until the client is live. */
  offer(message: Published): void {
    if (this.closed) return;
    // Never between the chunks of a snapshot: the client replaces its state with the whole of it.
    if (this.live && !this.snapshotting) {
      this.deliver(message, false);
      return;
    }
    this.waiting.push(message);
    this.waitingBytes += message.raw.length;
    // A start slower than the live feed (a long replay or snapshot, paced by a slow socket)
    // must not hold messages without bound: past the output cap the client is dropped like
    // one whose socket passed it, and resumes (from history) when it reconnects.
    if (this.waitingBytes > this.limits.maxBytes) this.drop('buffer');
  }

  /** A missed message read back from history, on resume. */
  replay(message: Published): void {
    if (!this.closed) this.deliver(message, true);
  }

  /** The hub moved it into its filter group: every message up to `seq` went out in the group's bytes. */
  joinedAt(seq: string): void {
    this.grouped = true;
    if (compareSeq(seq, this.seq) > 0) this.seq = seq;
  }

  /** The hub took it out of its group (congested, or a filter change): it has had every message up to `seq`. */
  leftAt(seq: string): void {
    this.grouped = false;
    if (compareSeq(seq, this.seq) > 0) this.seq = seq;
  }

  /** The hub moved it into its RateGroup (see RateGroup.admit): the group holds and times its views from now on. */
  joinedRateGroup(seq: string): void {
    this.joinedAt(seq);
    this.held?.clear();
    this.lastViewAt?.clear();
    this.nextDue = Infinity;
  }

  /**
   * Out of its RateGroup: it carries on from the group's state (what the group holds is what it
   * is owed, with the same resume points; its views went out when the group's did), on its own.
   */
  leftRateGroup(seq: string, held: ReadonlyMap<string, Held>, lastViewAt: ReadonlyMap<string, number>): void {
    this.leftAt(seq);
    if (this.closed) return;
    this.lastViewAt = new Map(lastViewAt);
    this.held = new Map();
    for (const [symbol, pending] of held) this.held.set(symbol, { ...pending });
    if (this.held.size) {
      // Due times are computed on the next flush (congested or not by then).
      this.nextDue = 0;
      this.host.wake(this);
    }
  }

  /**
   * The latest views as of `snapshot.seq`: the client's whole state; messages up to that seq
   * are covered by it. Written in chunks of about `chunkBytes`, each once the socket has taken
   * the previous ones (`paced` waits for that; it may drop a client that does not read). Only
   * the last chunk carries the resume point, so a connection lost half-way resumes from before
   * the snapshot, never from a state the client did not get whole.
   */
  async snapshot(snapshot: Snapshot, paced: (client: StreamClient) => Promise<void>): Promise<void> {
    if (this.closed) return;
    this.held?.clear();
    this.nextDue = Infinity;
    this.seq = snapshot.seq;
    this.snapshotting = true;
    try {
      const frames = this.snapshotFrames(snapshot);
      for (let i = 0; i < frames.length && !this.closed; i += 1) {
        this.writeNow([frames[i]]);
        if (i < frames.length - 1 && this.congested) await paced(this);
      }
      this.lastId = snapshot.seq;
    } finally {
      this.snapshotting = false;
    }
  }

  /** The client's resume point cannot be served (beyond history, unknown, or the gateway lost messages). */
  async reset(reason: string, snapshot: Snapshot, paced: (client: StreamClient) => Promise<void>): Promise<void> {
    if (this.closed) return;
    this.writeNow([this.sink.encodeEvent('reset', { type: 'reset', reason })]);
    await this.snapshot(snapshot, paced);
  }

  /** Writes what arrived while the client was starting (after its snapshot or replay), then passes messages straight on. */
  goLive(): void {
    if (this.closed) return;
    this.live = true;
    const waiting = this.waiting;
    this.waiting = [];
    this.waitingBytes = 0;
    for (const message of waiting) this.deliver(message, false);
  }

  /** Keeps live messages waiting again (while a fresh snapshot is read). */
  pause(): void {
    this.live = false;
  }

  /** A control event outside the message sequence (WS acknowledgements and errors). */
  event(event: string, data: object): void {
    if (!this.closed) this.writeNow([this.sink.encodeEvent(event, data)]);
  }

  /**
   * The write tick: hands what was gathered to the socket in one call, and the held views
   * that are due (all of them when the socket has drained and no maxHz applies).
   */
  flush(): void {
    // A snapshot being written is followed by what waited; held views were cleared by it.
    if (this.closed || this.snapshotting) return;
    if (this.held?.size && this.now() >= this.nextDue) this.releaseHeld();
    if (this.out.length) this.writeOut();
    if (this.held?.size) this.host.wake(this);
  }

  /** Writes bytes shared with the client's group (the last id in them: `lastId`); false when the client can no longer keep up with the group. */
  writeShared(bytes: Buffer, chunk: Buffer, lastId: string): boolean {
    if (this.closed) return false;
    this.sink.writeBytes(bytes, chunk);
    if (lastId) this.lastId = lastId;
    const buffered = this.sink.bufferedBytes();
    if (buffered > this.limits.maxBytes) {
      this.drop('buffer');
      return false;
    }
    return buffered <= this.limits.congestedBytes;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.held?.clear();
    this.nextDue = Infinity;
    this.waiting = [];
    this.waitingBytes = 0;
    this.out = [];
    this.outBytes = 0;
    this.wakeDrainWaiters();
    this.sink.close();
    this.onClose(this);
  }

  drop(reason: DropReason): void {
    if (this.closed) return;
    this.host.dropped(this, reason);
    this.close();
  }

  private snapshotFrames(snapshot: Snapshot): string[] {
    const all = this.filter.symbols === null;
    const key = `${this.sink.transport}|${this.filter.wantsViews() ? 'views' : 'none'}`;
    const cached = all ? snapshot.frames?.[key] : undefined;
    if (cached) return cached;
    const views = this.filter.wantsViews()
      ? snapshot.views.filter((view) => this.filter.symbols === null || this.filter.symbols.has(view.symbol))
      : [];
    const frames = chunkSnapshot(this.sink, snapshot.seq, views, this.limits.chunkBytes);
    if (all) (snapshot.frames ??= {})[key] = frames;
    return frames;
  }

  private deliver(message: Published, replayed: boolean): void {
    if (compareSeq(message.seq, this.seq) <= 0) return;
    const before = this.seq;
    this.seq = message.seq;
    if (!this.filter.matches(message)) return;
    if (message.type === MessageType.SymbolUpdated && this.mustHold(message.symbol, replayed)) this.hold(message, before);
    else this.send(message, 0, replayed);
  }

  /** A replay is paced by the socket (see StreamHub.start), so only maxHz conflates it. */
  private mustHold(symbol: string, replayed: boolean): boolean {
    if (this.held?.has(symbol)) return true;
    if (!replayed && this.congested) return true;
    return this.minIntervalMs > 0 && this.now() - (this.lastViewAt?.get(symbol) ?? -Infinity) < this.minIntervalMs;
  }

  private hold(message: Published, before: string): void {
    this.held ??= new Map();
    const pending = this.held.get(message.symbol);
    if (pending) {
      pending.message = message;
      pending.skipped += 1;
      this.host.conflated(this);
      return;
    }
    this.held.set(message.symbol, { message, skipped: 0, before });
    const due = (this.lastViewAt?.get(message.symbol) ?? -Infinity) + this.intervalMs(this.congested);
    if (due < this.nextDue) this.nextDue = due;
    this.host.wake(this);
  }

  private intervalMs(congested: boolean): number {
    return congested ? Math.max(this.minIntervalMs, CONGESTED_INTERVAL_MS) : this.minIntervalMs;
  }

  private releaseHeld(): void {
    const held = this.held as Map<string, Held>;
    const interval = this.intervalMs(this.congested);
    const now = this.now();
    let next = Infinity;
    for (const [symbol, pending] of held) {
      const due = (this.lastViewAt?.get(symbol) ?? -Infinity) + interval;
      if (now < due) {
        next = Math.min(next, due);
        continue;
      }
      held.delete(symbol);
      this.send(pending.message, pending.skipped, false);
    }
    this.nextDue = next;
  }

  private send(message: Published, skipped: number, replayed: boolean): void {
    if (message.type === MessageType.SymbolUpdated) (this.lastViewAt ??= new Map()).set(message.symbol, this.now());
    const id = this.resumeId();
    const frame = this.sink.encode(message, id === this.lastId ? '' : id, skipped);
    this.lastId = id;
    this.out.push(frame);
    this.outBytes += frame.length;
    this.host.sent(this, message, replayed);
    // A burst is written in pieces: one write of a whole tick's output could pass the cap by itself.
    if (this.outBytes >= this.limits.burstBytes) this.writeOut();
    else if (this.out.length === 1) this.host.wake(this);
  }

  /**
   * Everything up to this seq has been written or superseded by something written. With views
   * held, the seq this client processed just before the oldest of them: a real message (or the
   * snapshot's seq), so history can resume from it (it resumes only from an entry it holds),
   * and nothing for this client lies between it and the held view.
   */
  private resumeId(): string {
    let oldest: string | undefined;
    if (this.held) for (const { before } of this.held.values()) if (!oldest || compareSeq(before, oldest) < 0) oldest = before;
    return oldest ?? this.seq;
  }

  /** Writes what was gathered, then `frames`, at once (control events and snapshots do not wait for the tick). */
  private writeNow(frames: string[]): void {
    if (this.out.length) this.writeOut();
    if (this.closed) return;
    this.sink.write(frames);
    if (this.sink.bufferedBytes() > this.limits.maxBytes) this.drop('buffer');
  }

  private writeOut(): void {
    const out = this.out;
    this.out = [];
    this.outBytes = 0;
    this.sink.write(out);
    if (this.sink.bufferedBytes() > this.limits.maxBytes) this.drop('buffer');
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * The frames of a snapshot: views in chunks of about `chunkBytes` (one view at least), every
 * chunk but the last marked `more: true` and without a resume point; the last (the only one
 * of a small snapshot, exactly the former single frame) carries the seq as its id.
 */
export function chunkSnapshot(sink: Pick<Sink, 'encodeEvent'>, seq: string, views: SymbolView[], chunkBytes: number): string[] {
  const frames: string[] = [];
  let chunk: SymbolView[] = [];
  let bytes = 0;
  for (const view of views) {
    const size = JSON.stringify(view).length + 1;
    if (chunk.length && bytes + size > chunkBytes) {
      frames.push(sink.encodeEvent('snapshot', { type: 'snapshot', seq, more: true, views: chunk }));
      chunk = [];
      bytes = 0;
    }
    chunk.push(view);
    bytes += size;
  }
  frames.push(sink.encodeEvent('snapshot', { type: 'snapshot', seq, views: chunk }, seq));
  return frames;
}
