import { compareSeq, MessageType } from '@md/contracts';
import type { Held, StreamClient } from './client';
import type { StreamFilter } from './filter';
import type { Published } from './published';
import { sharedFrames, sseFrame, sseFrameAt } from './sinks';

/**
 * What a group hands its members on a write tick: one buffer (and the same as one HTTP/1.1 chunk,
 * sharedFrames), the messages in it, the last id in it ('' if none), and the views it replaced since the last.
 */
export interface GroupOutput {
  bytes: Buffer;
  chunk: Buffer;
  messages: Published[];
  lastId: string;
  conflated: number;
}

/**
 * The SSE clients of one filter that are in step: live, nothing held or gathered, socket not
 * congested, no maxHz. Their output from one write tick to the next is, byte for byte, the SSE
 * frames of the messages that matched the filter, each with its own seq as id. So the group
 * gathers those frames, encodes them once per tick, and the same Buffer goes to every member:
 * one write per client per tick, and no per-client encoding. A member that falls behind leaves
 * the group (StreamHub) and is served on its own, with conflation, until it is in step again.
 * RateGroup (below) is the same for clients of one filter and one maxHz.
 */
export class FanoutGroup {
  readonly members = new Set<StreamClient>();
  /** Messages gathered since the last tick, in seq order, and the length of their frames. */
  messages: Published[] = [];
  bytes = 0;

  constructor(
    readonly key: string,
    readonly filter: StreamFilter,
  ) {}

  /** A stable key per filter and rate: clients with equal filters (and equal maxHz) share a group. */
  static keyOf(filter: StreamFilter, maxHz?: number): string {
    const types = [...filter.types].sort().join(',');
    const key = filter.symbols === null ? `${types}|*` : `${types}|${[...filter.symbols].sort().join(',')}`;
    return maxHz ? `${key}|${maxHz}Hz` : key;
  }

  /** Views held for a later tick (a RateGroup): the hub looks at the group on every tick while it holds any. */
  get holding(): boolean {
    return false;
  }

  /** A message for the group; true when the group has work for the next tick. (`now` matters to a RateGroup only.) */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  push(message: Published, now: number): boolean {
    if (!this.filter.types.has(message.type)) return false;
    this.messages.push(message);
    this.bytes += sseFrame(message).length;
    return true;
  }

  /** The gathered frames as one buffer, and the group ready for the next tick. */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  take(now: number): GroupOutput {
    const messages = this.messages;
    this.messages = [];
    this.bytes = 0;
    let text = '';
    for (const message of messages) text += sseFrame(message);
    return { ...sharedFrames(text), messages, lastId: messages.at(-1)?.seq ?? '', conflated: 0 };
  }
}

/**
 * The SSE clients of one filter and one maxHz, conflated together: the same rule as a client
 * served on its own (StreamClient), applied once for all of them. Per symbol, a view goes out
 * when the last one went out at least 1/maxHz s ago; otherwise it is held, a newer one replaces
 * it (`skipped` counts them), and the newest is released on the first tick once it is due. The
 * frames carry the same resume ids a lone client would write (the seq processed just before the
 * oldest held view), so a member that reconnects replays its held views. Every member gets the
 * same bytes: at most maxHz views per symbol per second each, and the newest always follows.
 *
 * A client joins (StreamHub.joinRateGroup) only when the group's output from then on is exactly
 * what it is owed: it holds the same views as the group (or none where the group holds none), so
 * no view is written to it twice or lost; where it wrote a symbol later than the group did, the
 * group's next view of that symbol waits for the client's interval (members get it a little later,
 * never more often). A member that falls behind leaves with the group's held views and times
 * (`leftRateGroup`) and is conflated on its own from there, exactly as it would have been.
 */
export class RateGroup extends FanoutGroup {
  /** Highest seq the group processed (written, held or filtered out); the resume point when nothing is held. */
  seq: string;
  readonly held = new Map<string, Held>();
  readonly lastViewAt = new Map<string, number>();
  private readonly minIntervalMs: number;
  /** The last id in the group's bytes: a frame whose resume point has not moved past it is written without one (sseFrameAt). */
  private lastId: string;
  private text = '';
  private conflated = 0;

  /** Seeded from its first member's state: the group carries on exactly where that client was. */
  constructor(
    key: string,
    filter: StreamFilter,
    maxHz: number,
    seed: { seq: string; lastId: string; held: ReadonlyMap<string, Held>; lastViewAt: ReadonlyMap<string, number> },
  ) {
    super(key, filter);
    this.minIntervalMs = 1_000 / maxHz;
    this.seq = seed.seq;
    this.lastId = seed.lastId;
    for (const [symbol, held] of seed.held) this.held.set(symbol, { ...held });
    for (const [symbol, at] of seed.lastViewAt) this.lastViewAt.set(symbol, at);
  }

  override get holding(): boolean {
    return this.held.size > 0;
  }

  override push(message: Published, now: number): boolean {
    if (compareSeq(message.seq, this.seq) <= 0) return false;
    const before = this.seq;
    this.seq = message.seq;
    if (!this.filter.matches(message)) return false;
    if (message.type !== MessageType.SymbolUpdated) {
      this.send(message, 0, now);
      return true;
    }
    const pending = this.held.get(message.symbol);
    if (pending) {
      pending.message = message;
      pending.skipped += 1;
      this.conflated += 1;
      return true;
    }
    if (now - (this.lastViewAt.get(message.symbol) ?? -Infinity) < this.minIntervalMs)
      this.held.set(message.symbol, { message, skipped: 0, before });
    else this.send(message, 0, now);
    return true;
  }

  /** Releases the held views that are due, then hands over everything gathered as one buffer. */
  override take(now: number): GroupOutput {
    for (const [symbol, pending] of this.held) {
      if (now < (this.lastViewAt.get(symbol) ?? -Infinity) + this.minIntervalMs) continue;
      this.held.delete(symbol);
      this.send(pending.message, pending.skipped, now);
    }
    const lastId = this.messages.length ? this.lastId : '';
    const output = { ...sharedFrames(this.text), messages: this.messages, lastId, conflated: this.conflated };
    this.text = '';
    this.messages = [];
    this.bytes = 0;
    this.conflated = 0;
    return output;
  }

  /**
   * Whether `client` can take the group's bytes from now on (see the class comment): it holds
   * exactly the views the group holds, each since the same view (same resume point and `skipped`:
   * a view it wrote itself would be counted again, one the group wrote would be lost, and the
   * group's ids could go back past the client's), and it has written no id past the group's. Then,
   * where the client wrote a symbol after the group did, the group's next view of it waits as
   * long as the client's would have.
   */
  admit(client: StreamClient): boolean {
    const written = client.writtenId;
    if (written && (!this.lastId || compareSeq(written, this.lastId) > 0)) return false;
    const state = client.conflation();
    const clientHeld = state.held;
    if ((clientHeld?.size ?? 0) !== this.held.size) return false;
    for (const [symbol, held] of this.held) {
      const mine = clientHeld?.get(symbol);
      if (mine?.message !== held.message || mine.before !== held.before || mine.skipped !== held.skipped) return false;
    }
    if (state.lastViewAt)
      for (const [symbol, at] of state.lastViewAt) if (at > (this.lastViewAt.get(symbol) ?? -Infinity)) this.lastViewAt.set(symbol, at);
    return true;
  }

  private send(message: Published, skipped: number, now: number): void {
    if (message.type === MessageType.SymbolUpdated) this.lastViewAt.set(message.symbol, now);
    const id = this.resumeId();
    const frame = sseFrameAt(message, id === this.lastId ? '' : id, skipped);
    this.lastId = id;
    this.text += frame;
    this.bytes += frame.length;
    this.messages.push(message);
  }

  /** As StreamClient's: with views held, the seq processed just before the oldest of them. */
  private resumeId(): string {
    let oldest: string | undefined;
    for (const { before } of this.held.values()) if (!oldest || compareSeq(before, oldest) < 0) oldest = before;
    return oldest ?? this.seq;
  }
}
