import { type BeforeApplicationShutdown, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Redis } from 'ioredis';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { GatewayEnv } from '@md/config';
import { compareSeq, isSeq } from '@md/contracts';
import { createRedis } from '@md/redis';
import { type ClientHost, type DropReason, type Sink, type Snapshot, StreamClient, type Transport } from './client';
import { FanoutGroup, RateGroup } from './fanout-group';
import type { StreamFilter, StreamOptions } from './filter';
import { CLIENTS, CONFLATED, DELIVERY, DROPPED, REFUSED, REPLAYED, RESETS, RESYNCS, SENT, SUBSCRIPTION_UP } from './gateway.metrics';
import { HistoryTrimmed, StreamHistory } from './history';
import { parsePublished, type Published } from './published';

type State = 'down' | 'resyncing' | 'live';
export type RefusedReason = 'max_clients' | 'ws_payload' | 'ws_subscribe_rate';

/** With no write tick (STREAM_FLUSH_MS=0), held views are still looked at this often. */
const HOLD_TICK_MS = 10;

const TRANSPORTS: readonly Transport[] = ['sse', 'ws'];

/** A resuming client that reads nothing of its replay for this long is dropped. */
const REPLAY_STALL_MS = 30_000;

/**
 * The gateway's one subscription to the realtime channel and its clients.
 *
 * Pub/sub delivers at most once, so the hub never trusts it alone: every message has a seq
 * (its id in the history stream), the hub keeps the highest one it has passed on, and
 * whenever the subscription (re)starts it reads what it missed from history before passing
 * anything new on. Until then live messages wait, so clients see one gap-free sequence.
 * When the missed messages have left history, every client gets a reset and a snapshot.
 *
 * The write path (doc/performance.md, "Fan-out"): a message touches only the groups and
 * clients whose filter can want it (indexed by symbol); in-step SSE clients of one filter share
 * one FanoutGroup, whose frames are encoded once per write tick and written to each member as
 * the same Buffer; SSE clients of one filter and one maxHz share a RateGroup the same way, which
 * conflates once for all of them; every other client gathers its own frames. Everything goes out
 * on the write tick, every STREAM_FLUSH_MS, one write per client: the cost of a socket write is
 * the call.
 */
@Injectable()
export class StreamHub implements OnModuleInit, BeforeApplicationShutdown, ClientHost {
  private readonly logger = new Logger(StreamHub.name);
  private readonly clients = new Set<StreamClient>();
  private readonly perTransport: Record<Transport, number> = { sse: 0, ws: 0 };
  /** Clients served on their own, by the symbols of their filter (every symbol: `soloAll`). */
  private readonly soloAll = new Set<StreamClient>();
  private readonly soloBySymbol = new Map<string, Set<StreamClient>>();
  /** Groups of in-step SSE clients, by filter (and maxHz: RateGroup); indexed by symbol like the solo clients. */
  private readonly groups = new Map<string, FanoutGroup>();
  private readonly groupsAll = new Set<FanoutGroup>();
  private readonly groupsBySymbol = new Map<string, Set<FanoutGroup>>();
  /** Work for the next write tick. */
  private woken = new Set<StreamClient>();
  private readonly dirtyGroups = new Set<FanoutGroup>();
  private readonly candidates = new Set<StreamClient>();
  private tickTimer?: NodeJS.Timeout | NodeJS.Immediate;
  private ticking = false;
  /** Live messages written on their own this tick, per transport (one delivery observation each), and counts per type. */
  private readonly tickSent: Record<Transport, Set<Published>> = { sse: new Set(), ws: new Set() };
  private readonly tickCounts: Record<Transport, Map<string, number>> = { sse: new Map(), ws: new Map() };
  private tickConflated: Record<Transport, number> = { sse: 0, ws: 0 };
  /** A snapshot read every client asking before it starts shares (one HGETALL for a connect storm). */
  private nextSnapshot?: Promise<Snapshot>;
  private subscriber?: Redis;
  private state: State = 'down';
  /** Highest seq passed on to the clients (undefined until the first subscription). */
  private seq?: string;
  private waiting: Published[] = [];
  private resyncing?: Promise<void>;
  /** Bumped on every connection change: a catch-up started for an older connection stops. */
  private generation = 0;
  private heartbeat?: NodeJS.Timeout;
  private readonly sentByType: Record<Transport, Map<string, Counter.Internal>> = { sse: new Map(), ws: new Map() };
  private readonly delivery: Record<Transport, Histogram.Internal<string>>;
  private readonly replayedBy: Record<Transport, Counter.Internal>;
  private readonly conflatedBy: Record<Transport, Counter.Internal>;
  private readonly pace = (client: StreamClient) => this.drainedOrDrop(client);
  /** Per client: the start/refresh/reset running or queued (see serialized). */
  private readonly queues = new Map<StreamClient, { tail: Promise<void>; pending: number }>();

  constructor(
    private readonly env: GatewayEnv,
    private readonly history: StreamHistory,
    @InjectMetric(CLIENTS) private readonly clientsGauge: Gauge<string>,
    @InjectMetric(SENT) private readonly sentCounter: Counter<string>,
    @InjectMetric(REPLAYED) replayedCounter: Counter<string>,
    @InjectMetric(CONFLATED) conflatedCounter: Counter<string>,
    @InjectMetric(DROPPED) private readonly droppedCounter: Counter<string>,
    @InjectMetric(RESETS) private readonly resetsCounter: Counter<string>,
    @InjectMetric(RESYNCS) private readonly resyncsCounter: Counter<string>,
    @InjectMetric(SUBSCRIPTION_UP) private readonly upGauge: Gauge<string>,
    @InjectMetric(DELIVERY) deliveryHistogram: Histogram<string>,
    @InjectMetric(REFUSED) private readonly refusedCounter: Counter<string>,
  ) {
    this.delivery = { sse: deliveryHistogram.labels('sse'), ws: deliveryHistogram.labels('ws') };
    this.replayedBy = { sse: replayedCounter.labels('sse'), ws: replayedCounter.labels('ws') };
    this.conflatedBy = { sse: conflatedCounter.labels('sse'), ws: conflatedCounter.labels('ws') };
    this.upGauge.set(0);
    for (const transport of TRANSPORTS) this.clientsGauge.set({ transport }, 0);
  }

  /** Whether the subscription is live and in sync (readiness). */
  get live(): boolean {
    return this.state === 'live';
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** MAX_CLIENTS reached: a new stream is refused (503 / close 1013), counted under `max_clients`. */
  get full(): boolean {
    return this.clients.size >= this.env.MAX_CLIENTS;
  }

  /** Counts a refusal by one of the gateway's caps. */
  refused(transport: Transport, reason: RefusedReason): void {
    this.refusedCounter.inc({ transport, reason });
  }

  /** How many clients are served from shared group bytes, in-step and maxHz groups alike (tests, diagnostics). */
  get groupedCount(): number {
    let n = 0;
    for (const group of this.groups.values()) n += group.members.size;
    return n;
  }

  onModuleInit(): void {
    // A subscriber connection waits for Redis as long as it takes (no command timeout, no
    // retry limit): its commands are only SUBSCRIBE, re-issued on every (re)connect below.
    const subscriber = createRedis(this.env, 'subscriber', {
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
      autoResubscribe: false,
    });
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, text: string) => this.onMessage(text));
    subscriber.on('close', () => {
      this.generation += 1;
      this.setState('down');
    });
    subscriber.on('ready', () => void this.resync());
    this.heartbeat = setInterval(() => this.beat(), this.env.HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    this.tick();
    this.cancelTick();
    for (const client of [...this.clients]) client.close();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.setState('down');
    await subscriber?.quit().catch(() => subscriber.disconnect());
  }

  /** A new client, waiting (its messages kept in order) until `start` has sent its snapshot or replay. */
  attach(sink: Sink, options: StreamOptions): StreamClient {
    const max = this.env.CLIENT_BUFFER_MAX_BYTES;
    const limits = {
      maxBytes: max,
      congestedBytes: Math.floor(max / 4),
      chunkBytes: this.env.SNAPSHOT_CHUNK_BYTES,
      burstBytes: this.burstBytes,
    };
    const client = new StreamClient(sink, options.filter, options.maxHz, limits, this, (closed) => this.detach(closed));
    this.clients.add(client);
    this.index(client);
    this.clientsGauge.set({ transport: sink.transport }, ++this.perTransport[sink.transport]);
    return client;
  }

  /**
   * Brings a client up to date, then live: the missed messages after `lastEventId` when
   * history still holds them all (read a page at a time, each once the socket has taken the
   * last), else (or without an id) a snapshot — after a reset event when the client asked to
   * resume. Rejects when Redis cannot be read.
   */
  start(client: StreamClient, lastEventId: string | undefined): Promise<void> {
    // Before its first subscription the hub has no point from which it passes everything on.
    if (this.seq === undefined) return Promise.reject(new Error('not subscribed to the realtime channel yet'));
    return this.serialized(client, () => this.bringUp(client, lastEventId));
  }

  private async bringUp(client: StreamClient, lastEventId: string | undefined): Promise<void> {
    if (lastEventId !== undefined) {
      const pages = await this.history.after(lastEventId);
      if (pages) {
        try {
          for await (const page of pages) {
            for (const message of page) client.replay(message);
            client.flush();
            // Paced by the socket: a long replay must not pass the buffer cap by itself.
            if (client.congested) await this.drainedOrDrop(client);
            if (client.isClosed) return;
          }
        } catch (error) {
          if (!(error instanceof HistoryTrimmed)) throw error;
          this.resetsCounter.inc({ cause: 'client' });
          await client.reset('history was trimmed past this resume point while it was being replayed', await this.snapshot(), this.pace);
        }
      } else {
        this.resetsCounter.inc({ cause: 'client' });
        const reason = isSeq(lastEventId) ? 'Last-Event-ID is older than the retained history' : 'Last-Event-ID is not a known event id';
        await client.reset(reason, await this.snapshot(), this.pace);
      }
    } else {
      await client.snapshot(await this.snapshot(), this.pace);
    }
    this.goLiveUnlessQueued(client);
  }

  /** A fresh snapshot for a client whose filter changed (WS subscribe/unsubscribe). */
  refresh(client: StreamClient, filter: StreamFilter): Promise<void> {
    // Live messages wait from now on, even while an earlier start or snapshot is still being written
    // (and no group bytes reach it: it leaves its group now, its filter changes when its turn comes).
    if (client.grouped) this.leaveGroup(client);
    client.pause();
    return this.serialized(client, async () => {
      this.setFilter(client, filter);
      await client.snapshot(await this.snapshot(), this.pace);
      this.goLiveUnlessQueued(client);
    });
  }

  /**
   * Start, refresh and reset of one client run one after the other: two snapshots (or a replay
   * and a snapshot) never interleave, and the client goes live only at the end of the last one
   * queued, so no live message is written between the chunks of a snapshot.
   */
  private serialized(client: StreamClient, op: () => Promise<void>): Promise<void> {
    let queue = this.queues.get(client);
    if (!queue) this.queues.set(client, (queue = { tail: Promise.resolve(), pending: 0 }));
    const entry = queue;
    entry.pending += 1;
    const run = entry.tail.then(op).finally(() => {
      entry.pending -= 1;
      if (entry.pending === 0) this.queues.delete(client);
    });
    entry.tail = run.catch(() => undefined);
    return run;
  }

  private goLiveUnlessQueued(client: StreamClient): void {
    if ((this.queues.get(client)?.pending ?? 0) <= 1) this.goLive(client);
  }

  /** A client's filter changes: it leaves its group and is indexed by the new filter. */
  private setFilter(client: StreamClient, filter: StreamFilter): void {
    this.unindex(client);
    client.filter = filter;
    this.index(client);
  }

  private goLive(client: StreamClient): void {
    client.goLive();
    // It may join its filter's group on the next tick.
    if (client.sink.shareable && !client.isClosed) {
      this.candidates.add(client);
      this.schedule();
    }
  }

  /**
   * The latest views, read once for every client that asks before the read starts: each of
   * them was attached (its live messages kept) before, so the snapshot is never older than
   * what it missed.
   */
  private snapshot(): Promise<Snapshot> {
    this.nextSnapshot ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.nextSnapshot = undefined;
      return this.history.snapshot();
    });
    return this.nextSnapshot;
  }

  /** Waits for a congested client's socket to drain; a client that does not read for REPLAY_STALL_MS is dropped. */
  private async drainedOrDrop(client: StreamClient): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), REPLAY_STALL_MS)));
    const outcome = await Promise.race([client.drained(), stalled]);
    clearTimeout(timer);
    if (outcome === 'stalled') client.drop('buffer');
  }

  sent(client: StreamClient, message: Published, replayed: boolean): void {
    const transport = client.sink.transport;
    if (replayed) {
      this.countSent(transport, message.type, 1);
      this.replayedBy[transport].inc();
      return;
    }
    const counts = this.tickCounts[transport];
    counts.set(message.type, (counts.get(message.type) ?? 0) + 1);
    this.tickSent[transport].add(message);
  }

  conflated(client: StreamClient): void {
    this.tickConflated[client.sink.transport] += 1;
    this.schedule();
  }

  dropped(client: StreamClient, reason: DropReason): void {
    // The conflations that came before a drop are counted before it, not on the next tick.
    this.countConflated();
    this.droppedCounter.inc({ transport: client.sink.transport, reason });
  }

  private countConflated(): void {
    for (const transport of TRANSPORTS) if (this.tickConflated[transport]) this.conflatedBy[transport].inc(this.tickConflated[transport]);
    this.tickConflated = { sse: 0, ws: 0 };
  }

  wake(client: StreamClient): void {
    this.woken.add(client);
    this.schedule();
  }

  private countSent(transport: Transport, type: string, n: number): void {
    let counter = this.sentByType[transport].get(type);
    if (!counter) this.sentByType[transport].set(type, (counter = this.sentCounter.labels(transport, type)));
    counter.inc(n);
  }

  private detach(client: StreamClient): void {
    if (!this.clients.delete(client)) return;
    this.unindex(client);
    this.candidates.delete(client);
    this.clientsGauge.set({ transport: client.sink.transport }, --this.perTransport[client.sink.transport]);
  }

  /** Serves a client on its own, indexed by the symbols of its filter. */
  private index(client: StreamClient): void {
    const symbols = client.filter.symbols;
    if (symbols === null) this.soloAll.add(client);
    else
      for (const symbol of symbols) {
        let set = this.soloBySymbol.get(symbol);
        if (!set) this.soloBySymbol.set(symbol, (set = new Set()));
        set.add(client);
      }
  }

  /** Takes a client out of the solo index or of its group. */
  private unindex(client: StreamClient): void {
    if (client.grouped) {
      this.leaveGroup(client, false);
      return;
    }
    const symbols = client.filter.symbols;
    if (symbols === null) this.soloAll.delete(client);
    else
      for (const symbol of symbols) {
        const set = this.soloBySymbol.get(symbol);
        if (set?.delete(client) && set.size === 0) this.soloBySymbol.delete(symbol);
      }
  }

  /**
   * A client joins only at the hub's own position: a client that read history ahead of pub/sub
   * (a resume or snapshot sees an XADD before its PUBLISH arrives) would get (hub seq, its seq]
   * again in the group's bytes. It stays on its own, deduplicating, until the hub has caught up
   * (its next message makes it a candidate again). (A client of some symbols may be behind: the
   * messages in between were not for it.) Never while resyncing: the hub's seq is moving.
   */
  private canJoin(client: StreamClient): boolean {
    return this.state === 'live' && this.seq !== undefined && compareSeq(client.lastSeq, this.seq) <= 0;
  }

  private joinGroup(client: StreamClient): void {
    const key = FanoutGroup.keyOf(client.filter);
    const group = this.groups.get(key) ?? this.addGroup(new FanoutGroup(key, client.filter));
    this.unindex(client);
    group.members.add(client);
    // Every message up to the hub's seq has been written to it or filtered out: the group's next bytes follow on exactly.
    client.joinedAt(this.seq as string);
  }

  /**
   * A maxHz client into the RateGroup of its filter and rate when the group's output from now on
   * is exactly what it is owed (RateGroup.admit); the first one founds the group with its own
   * conflation state. Otherwise it stays on its own and is asked again on a later tick.
   */
  private joinRateGroup(client: StreamClient): void {
    const maxHz = client.maxHz as number;
    const key = FanoutGroup.keyOf(client.filter, maxHz);
    const existing = this.groups.get(key) as RateGroup | undefined;
    if (existing && !existing.admit(client)) return;
    const { held, lastViewAt } = client.conflation();
    const group =
      existing ??
      this.addGroup(
        new RateGroup(key, client.filter, maxHz, {
          seq: client.lastSeq,
          lastId: client.writtenId,
          held: held ?? new Map(),
          lastViewAt: lastViewAt ?? new Map(),
        }),
      );
    this.unindex(client);
    group.members.add(client);
    client.joinedRateGroup(this.seq as string);
    if (group.holding) this.dirtyGroups.add(group);
  }

  private addGroup<G extends FanoutGroup>(group: G): G {
    this.groups.set(group.key, group);
    if (group.filter.symbols === null) this.groupsAll.add(group);
    else
      for (const symbol of group.filter.symbols) {
        let set = this.groupsBySymbol.get(symbol);
        if (!set) this.groupsBySymbol.set(symbol, (set = new Set()));
        set.add(group);
      }
    return group;
  }

  /** Out of its group; back in the solo index unless it is closing. At a tick's end every group byte has been written. */
  private leaveGroup(client: StreamClient, serveAlone = true): void {
    const group = this.groups.get(FanoutGroup.keyOf(client.filter, client.maxHz));
    group?.members.delete(client);
    if (group instanceof RateGroup) client.leftRateGroup(this.seq as string, group.held, group.lastViewAt);
    else client.leftAt(this.seq as string);
    if (group && group.members.size === 0) this.dropGroup(group);
    if (serveAlone && !client.isClosed) this.index(client);
  }

  private dropGroup(group: FanoutGroup): void {
    this.groups.delete(group.key);
    this.dirtyGroups.delete(group);
    if (group.filter.symbols === null) this.groupsAll.delete(group);
    else
      for (const symbol of group.filter.symbols) {
        const set = this.groupsBySymbol.get(symbol);
        if (set?.delete(group) && set.size === 0) this.groupsBySymbol.delete(symbol);
      }
  }

  private onMessage(text: string): void {
    const message = parsePublished(text);
    if (!message) return;
    if (this.state === 'live') this.dispatch(message);
    else this.waiting.push(message);
  }

  /** A message to the groups and clients whose filter may want it; written on the next tick. */
  private dispatch(message: Published): void {
    if (this.seq !== undefined && compareSeq(message.seq, this.seq) <= 0) return;
    this.seq = message.seq;
    const now = Date.now();
    for (const group of this.groupsAll) if (group.push(message, now)) this.gathered(group);
    const groups = this.groupsBySymbol.get(message.symbol);
    if (groups) for (const group of groups) if (group.push(message, now)) this.gathered(group);
    for (const client of this.soloAll) client.offer(message);
    const solo = this.soloBySymbol.get(message.symbol);
    if (solo) for (const client of solo) client.offer(message);
    if (this.dirtyGroups.size) this.schedule();
  }

  /**
   * A burst is written in pieces of a sixteenth of CLIENT_BUFFER_MAX_BYTES (a quarter of where
   * conflation starts): one write of a whole tick's output could make a reading client look
   * congested, or pass its cap, by itself.
   */
  private get burstBytes(): number {
    return Math.floor(this.env.CLIENT_BUFFER_MAX_BYTES / 16);
  }

  private gathered(group: FanoutGroup): void {
    this.dirtyGroups.add(group);
    if (group.bytes < this.burstBytes || this.ticking) return;
    this.dirtyGroups.delete(group);
    this.writeGroup(group, Date.now());
  }

  private schedule(): void {
    if (this.tickTimer || this.ticking) return;
    this.tickTimer =
      this.env.STREAM_FLUSH_MS > 0 ? setTimeout(() => this.tick(), this.env.STREAM_FLUSH_MS) : setImmediate(() => this.tick());
  }

  private cancelTick(): void {
    if (!this.tickTimer) return;
    clearTimeout(this.tickTimer as NodeJS.Timeout);
    clearImmediate(this.tickTimer as NodeJS.Immediate);
    this.tickTimer = undefined;
  }

  /**
   * The write tick: each dirty group's frames encoded once and written to its members, then
   * every other client with output its own write; in-step clients join their group, members
   * that fell behind leave it. Metrics are counted once per tick, not per client and message.
   */
  private tick(): void {
    this.cancelTick();
    this.ticking = true;
    try {
      this.writeTick(Date.now());
    } finally {
      this.ticking = false;
    }
    // Clients holding views look again on the next tick (a view's due time is checked there).
    if (this.woken.size || this.dirtyGroups.size) this.tickTimer = setTimeout(() => this.tick(), this.env.STREAM_FLUSH_MS || HOLD_TICK_MS);
  }

  private writeTick(now: number): void {
    // A RateGroup still holding views puts itself back for the next tick (writeGroup).
    const dirty = [...this.dirtyGroups];
    this.dirtyGroups.clear();
    for (const group of dirty) this.writeGroup(group, now);

    const woken = this.woken;
    this.woken = new Set();
    for (const client of woken) client.flush();
    for (const client of woken) if (client.sink.shareable) this.candidates.add(client);
    for (const client of this.candidates) {
      if (client.grouped || !this.clients.has(client) || !this.canJoin(client)) continue;
      if (client.inStep) this.joinGroup(client);
      else if (client.rateReady) this.joinRateGroup(client);
    }
    this.candidates.clear();

    for (const transport of TRANSPORTS) {
      for (const [type, n] of this.tickCounts[transport]) this.countSent(transport, type, n);
      this.tickCounts[transport].clear();
      // One observation per message and transport: when the last of its writes was made.
      for (const message of this.tickSent[transport])
        if (message.receivedAt) this.delivery[transport].observe(Math.max(0, now - message.receivedAt) / 1000);
      this.tickSent[transport].clear();
    }
    this.countConflated();
  }

  /** A group's gathered frames, encoded once, to every member; a member that fell behind leaves. */
  private writeGroup(group: FanoutGroup, now: number): void {
    const { bytes, chunk, messages, lastId, conflated } = group.take(now);
    if (conflated) this.tickConflated.sse += conflated * group.members.size;
    let written = 0;
    if (bytes.length)
      for (const member of group.members) {
        written += 1;
        if (!member.writeShared(bytes, chunk, lastId) && !member.isClosed) this.leaveGroup(member);
      }
    if (group.holding && group.members.size) this.dirtyGroups.add(group);
    const counts = this.tickCounts.sse;
    for (const message of messages) {
      counts.set(message.type, (counts.get(message.type) ?? 0) + written);
      if (written && message.receivedAt) this.tickSent.sse.add(message);
    }
    if (group.members.size === 0) this.dropGroup(group);
    if (!this.ticking) {
      // Outside a tick (a burst): the counts go out with the next tick.
      void now;
      this.schedule();
    }
  }

  /**
   * On every (re)connect: subscribe, then pass on what was published since the last message
   * passed on (from history), then what arrived meanwhile. Runs one at a time; a connection
   * lost during it leaves the hub down until the next 'ready'.
   */
  private resync(): Promise<void> {
    const generation = ++this.generation;
    this.setState('resyncing');
    const run = (this.resyncing ?? Promise.resolve()).then(() => this.catchUp(generation));
    this.resyncing = run.catch((error: Error) => {
      this.logger.warn(`resync failed (retried on the next reconnect): ${error.message}`);
      this.setState('down');
      // The subscriber may still be connected (the failure was a read): try again shortly.
      if (generation === this.generation && this.subscriber?.status === 'ready') setTimeout(() => void this.resync(), 500).unref();
    });
    return this.resyncing;
  }

  private async catchUp(generation: number): Promise<void> {
    const current = () => generation === this.generation && this.subscriber?.status === 'ready';
    if (!current()) return;
    await this.subscriber?.subscribe(this.env.PUBSUB_CHANNEL);
    if (!current()) return;
    if (this.seq === undefined) {
      // First subscription: start from the present. Clients are refused until now, so
      // every client's snapshot is at or after this point.
      const { seq } = await this.history.snapshot();
      if (!current()) return;
      this.seq = seq;
      this.resyncsCounter.inc({ outcome: 'started' });
    } else if (!(await this.replayMissed(current))) {
      if (!current()) return;
      const snapshot = await this.history.snapshot();
      if (!current()) return;
      this.logger.warn(`resubscribed after more than the retained history; ${this.clients.size} clients reset`);
      this.resyncsCounter.inc({ outcome: 'reset' });
      this.resetsCounter.inc({ cause: 'gateway' }, this.clients.size);
      this.seq = snapshot.seq;
      for (const client of [...this.clients]) void this.resetClient(client, snapshot);
    }
    if (!current()) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const message of waiting) this.dispatch(message);
    this.setState('live');
  }

  /** What the hub missed, from history, page by page; false when history no longer holds it all. */
  private async replayMissed(current: () => boolean): Promise<boolean> {
    const pages = await this.history.after(this.seq as string);
    if (!pages) return false;
    let replayed = 0;
    try {
      for await (const page of pages) {
        if (!current()) return true;
        for (const message of page) this.dispatch(message);
        replayed += page.length;
      }
    } catch (error) {
      if (error instanceof HistoryTrimmed) return false;
      throw error;
    }
    this.resyncsCounter.inc({ outcome: 'replayed' });
    if (replayed) this.logger.log(`resubscribed; ${replayed} missed messages replayed from history`);
    return true;
  }

  /** A client the gateway could not keep gap-free: reset, a snapshot (paced), then live again. */
  private async resetClient(client: StreamClient, snapshot: Snapshot): Promise<void> {
    if (client.grouped) this.leaveGroup(client);
    client.pause();
    try {
      await this.serialized(client, async () => {
        await client.reset('the gateway missed messages that are no longer in history', snapshot, this.pace);
        this.goLiveUnlessQueued(client);
      });
    } catch {
      client.close();
    }
  }

  private setState(state: State): void {
    this.state = state;
    this.upGauge.set(state === 'live' ? 1 : 0);
  }

  private beat(): void {
    for (const client of this.clients) if (!client.sink.heartbeat()) client.drop('heartbeat');
  }
}
