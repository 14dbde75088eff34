import { type BeforeApplicationShutdown, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Redis } from 'ioredis';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { GatewayEnv } from '@md/config';
import { compareSeq, isSeq } from '@md/contracts';
import { createRedis } from '@md/redis';
import { type ClientStats, type DropReason, type Sink, StreamClient, type Transport } from './client';
import type { StreamOptions } from './filter';
import { CLIENTS, CONFLATED, DELIVERY, DROPPED, REPLAYED, RESETS, RESYNCS, SENT, SUBSCRIPTION_UP } from './gateway.metrics';
import { StreamHistory } from './history';
import { parsePublished, type Published } from './published';

type State = 'down' | 'resyncing' | 'live';

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
 */
@Injectable()
export class StreamHub implements OnModuleInit, BeforeApplicationShutdown, ClientStats {
  private readonly logger = new Logger(StreamHub.name);
  private readonly clients = new Set<StreamClient>();
  private readonly perTransport: Record<Transport, number> = { sse: 0, ws: 0 };
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
  /**
   * The writes and conflations of the dispatch under way, reported when it ends: with
   * thousands of clients, a metric update per client and message costs about as much as the
   * write itself (measured: bench, doc/performance.md).
   */
  private tally?: { message: Published; sent: Record<Transport, number>; conflated: Record<Transport, number> };

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
  ) {
    this.delivery = { sse: deliveryHistogram.labels('sse'), ws: deliveryHistogram.labels('ws') };
    this.replayedBy = { sse: replayedCounter.labels('sse'), ws: replayedCounter.labels('ws') };
    this.conflatedBy = { sse: conflatedCounter.labels('sse'), ws: conflatedCounter.labels('ws') };
    this.upGauge.set(0);
    for (const transport of ['sse', 'ws'] as const) this.clientsGauge.set({ transport }, 0);
  }

  /** Whether the subscription is live and in sync (readiness). */
  get live(): boolean {
    return this.state === 'live';
  }

  get clientCount(): number {
    return this.clients.size;
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
    for (const client of [...this.clients]) client.close();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.setState('down');
    await subscriber?.quit().catch(() => subscriber.disconnect());
  }

  /** A new client, waiting (its messages kept in order) until `start` has sent its snapshot or replay. */
  attach(sink: Sink, options: StreamOptions): StreamClient {
    const limits = { maxBytes: this.env.CLIENT_BUFFER_MAX_BYTES, congestedBytes: Math.floor(this.env.CLIENT_BUFFER_MAX_BYTES / 4) };
    const client = new StreamClient(sink, options.filter, options.maxHz, limits, this, (closed) => this.detach(closed));
    this.clients.add(client);
    this.clientsGauge.set({ transport: sink.transport }, ++this.perTransport[sink.transport]);
    return client;
  }

  /**
   * Brings a client up to date, then live: the missed messages after `lastEventId` when
   * history still holds them all, else (or without an id) a snapshot — after a reset event
   * when the client asked to resume. Rejects when Redis cannot be read.
   */
  async start(client: StreamClient, lastEventId: string | undefined): Promise<void> {
    // Before its first subscription the hub has no point from which it passes everything on.
    if (this.seq === undefined) throw new Error('not subscribed to the realtime channel yet');
    if (lastEventId !== undefined) {
      const missed = await this.history.after(lastEventId);
      if (missed) {
        for (const message of missed) {
          client.replay(message);
          // Paced by the socket: a long replay must not pass the buffer cap by itself.
          if (client.congested) await this.drainedOrDrop(client);
          if (client.isClosed) return;
        }
      } else {
        this.resetsCounter.inc({ cause: 'client' });
        const reason = isSeq(lastEventId) ? 'Last-Event-ID is older than the retained history' : 'Last-Event-ID is not a known event id';
        client.reset(reason, await this.history.snapshot());
      }
    } else {
      client.snapshot(await this.history.snapshot());
    }
    client.goLive();
  }

  /** Waits for a congested client's socket to drain; a client that does not read for REPLAY_STALL_MS is dropped. */
  private async drainedOrDrop(client: StreamClient): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), REPLAY_STALL_MS)));
    const outcome = await Promise.race([client.drained(), stalled]);
    clearTimeout(timer);
    if (outcome === 'stalled') client.drop('buffer');
  }

  /** A fresh snapshot for a client whose filter changed (WS subscribe/unsubscribe). */
  async refresh(client: StreamClient): Promise<void> {
    client.pause();
    client.snapshot(await this.history.snapshot());
    client.goLive();
  }

  sent(client: StreamClient, message: Published, replayed: boolean): void {
    const transport = client.sink.transport;
    if (this.tally?.message === message && !replayed) {
      this.tally.sent[transport] += 1;
      return;
    }
    this.countSent(transport, message.type, 1);
    if (replayed) this.replayedBy[transport].inc();
    else if (message.receivedAt) this.delivery[transport].observe(Math.max(0, Date.now() - message.receivedAt) / 1000);
  }

  conflated(client: StreamClient): void {
    if (this.tally) this.tally.conflated[client.sink.transport] += 1;
    else this.conflatedBy[client.sink.transport].inc();
  }

  private countSent(transport: Transport, type: string, n: number): void {
    let counter = this.sentByType[transport].get(type);
    if (!counter) this.sentByType[transport].set(type, (counter = this.sentCounter.labels(transport, type)));
    counter.inc(n);
  }

  dropped(client: StreamClient, reason: DropReason): void {
    this.droppedCounter.inc({ transport: client.sink.transport, reason });
  }

  private detach(client: StreamClient): void {
    if (this.clients.delete(client)) this.clientsGauge.set({ transport: client.sink.transport }, --this.perTransport[client.sink.transport]);
  }

  private onMessage(text: string): void {
    const message = parsePublished(text);
    if (!message) return;
    if (this.state === 'live') this.dispatch(message);
    else this.waiting.push(message);
  }

  private dispatch(message: Published): void {
    if (this.seq !== undefined && compareSeq(message.seq, this.seq) <= 0) return;
    this.seq = message.seq;
    const tally = (this.tally = { message, sent: { sse: 0, ws: 0 }, conflated: { sse: 0, ws: 0 } });
    try {
      for (const client of this.clients) client.offer(message);
    } finally {
      this.tally = undefined;
      const now = Date.now();
      for (const transport of TRANSPORTS) {
        if (tally.conflated[transport]) this.conflatedBy[transport].inc(tally.conflated[transport]);
        if (!tally.sent[transport]) continue;
        this.countSent(transport, message.type, tally.sent[transport]);
        // One observation per message and transport: when the last of its writes was made.
        if (message.receivedAt) this.delivery[transport].observe(Math.max(0, now - message.receivedAt) / 1000);
      }
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
    } else {
      const missed = await this.history.after(this.seq);
      if (!current()) return;
      if (missed) {
        for (const message of missed) this.dispatch(message);
        this.resyncsCounter.inc({ outcome: 'replayed' });
        if (missed.length) this.logger.log(`resubscribed; ${missed.length} missed messages replayed from history`);
      } else {
        const snapshot = await this.history.snapshot();
        if (!current()) return;
        this.logger.warn(`resubscribed after more than the retained history; ${this.clients.size} clients reset`);
        this.resyncsCounter.inc({ outcome: 'reset' });
        this.resetsCounter.inc({ cause: 'gateway' }, this.clients.size);
        this.seq = snapshot.seq;
        for (const client of this.clients) client.reset('the gateway missed messages that are no longer in history', snapshot);
      }
    }
    if (!current()) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const message of waiting) this.dispatch(message);
    this.setState('live');
  }

  private setState(state: State): void {
    this.state = state;
    this.upGauge.set(state === 'live' ? 1 : 0);
  }

  private beat(): void {
    for (const client of this.clients) if (!client.sink.heartbeat()) client.drop('heartbeat');
  }
}
