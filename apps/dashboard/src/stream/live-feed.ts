import type { RealtimeMessage, ResetMessage, SnapshotMessage, StreamToken, TickReceivedMessage } from '@md/contracts';
import { MarketStore, type ViewUpdate } from '../market/market-store';
import { FrameBatcher, type FrameScheduler } from './frame-batcher';
import { LatencyWindow } from './latency';
import { StreamClient, type ConnectionState, type EventSourceFactory, type StreamType } from './stream-client';

export interface ConnectionStatus {
  state: ConnectionState;
  /** Browser clock when the state last changed. */
  since: number;
  /** Drops so far. */
  drops: number;
  resets: number;
  /** View updates the gateway conflated away (`skipped`) under this stream's maxHz or a congested socket. */
  skipped: number;
  /** The per-symbol rate this stream asked for (undefined: every update). */
  maxHz?: number;
}

/** A small observable value for useSyncExternalStore. */
export class Observable<T> {
  private readonly listeners = new Set<() => void>();

  constructor(private value: T) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get = (): T => this.value;

  set(value: T): void {
    this.value = value;
    for (const listener of this.listeners) listener();
  }
}

type Item = { kind: 'snapshot'; message: SnapshotMessage } | { kind: 'message'; message: RealtimeMessage; arrivedAt: number };

export interface FeedOptions {
  streamUrl: string;
  fetchToken: () => Promise<StreamToken>;
  symbols?: string[];
  types?: StreamType[];
  /** At most this many view updates per symbol per second (the gateway conflates the rest). */
  maxHz?: number;
  createEventSource?: EventSourceFactory;
  schedule?: FrameScheduler;
  now?: () => number;
  onReset?: (message: ResetMessage) => void;
}

/**
 * The live side of the app: one stream, its messages applied once per animation frame to the
 * market store (views), to tick listeners (the symbol page's chart) and to the latency window.
 * Latency is taken at that frame, from the api's receipt of the tick to its turn on screen.
 */
export class LiveFeed {
  readonly market = new MarketStore();
  readonly latency = new LatencyWindow();
  readonly status: Observable<ConnectionStatus>;
  private readonly tickListeners = new Set<(ticks: TickReceivedMessage[]) => void>();
  private readonly batcher: FrameBatcher<Item>;
  private readonly client: StreamClient;
  private readonly now: () => number;

  constructor(options: FeedOptions) {
    this.now = options.now ?? Date.now;
    this.status = new Observable<ConnectionStatus>({
      state: 'connecting',
      since: this.now(),
      drops: 0,
      resets: 0,
      skipped: 0,
      maxHz: options.maxHz,
    });
    this.batcher = new FrameBatcher((items) => this.apply(items), options.schedule);
    this.client = new StreamClient(
      {
        streamUrl: options.streamUrl,
        fetchToken: options.fetchToken,
        symbols: options.symbols,
        types: options.types,
        maxHz: options.maxHz,
        createEventSource: options.createEventSource,
        now: this.now,
      },
      {
        snapshot: (message) => this.batcher.push({ kind: 'snapshot', message }),
        message: (message, arrivedAt) => this.batcher.push({ kind: 'message', message, arrivedAt }),
        reset: (message) => {
          const current = this.status.get();
          this.status.set({ ...current, resets: current.resets + 1 });
          options.onReset?.(message);
        },
        state: (state) => {
          const current = this.status.get();
          const drops = current.drops + (state === 'reconnecting' && current.state !== 'reconnecting' ? 1 : 0);
          this.status.set({ ...current, state, since: this.now(), drops });
        },
      },
    );
  }

  start(): void {
    this.client.start();
  }

  stop(): void {
    this.client.stop();
    this.batcher.flush();
  }

  get lastEventId(): string | undefined {
    return this.client.lastEventId;
  }

  onTicks(listener: (ticks: TickReceivedMessage[]) => void): () => void {
    this.tickListeners.add(listener);
    return () => this.tickListeners.delete(listener);
  }

  private apply(items: Item[]): void {
    const now = this.now();
    let skipped = 0;
    let views: ViewUpdate[] = [];
    let ticks: TickReceivedMessage[] = [];
    const flush = () => {
      this.market.applyUpdates(views);
      if (ticks.length) for (const listener of this.tickListeners) listener(ticks);
      views = [];
      ticks = [];
    };
    for (const item of items) {
      if (item.kind === 'snapshot') {
        flush();
        this.market.replaceAll(item.message.views, now);
        continue;
      }
      const { message } = item;
      if (message.receivedAt) this.latency.add(now - message.receivedAt, now);
      if (message.type === 'symbol.updated') {
        views.push({ view: message.view, arrivedAt: item.arrivedAt });
        skipped += message.skipped ?? 0;
      } else ticks.push(message);
    }
    flush();
    if (skipped) {
      const current = this.status.get();
      this.status.set({ ...current, skipped: current.skipped + skipped });
    }
  }
}
