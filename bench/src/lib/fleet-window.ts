/**
 * What a fleet of fan-out clients (SSE: sse-fleet.ts; Socket.IO: baselines/socketio-fleet.ts)
 * records in one window, and the IPC loop both fleets run as child processes. Latencies go
 * into mergeable 1 % histograms; the parent merges the fleets' windows (child.ts, Fleet).
 *
 * A message whose seq is not above the client's previous one counts as out of order: never
 * without conflation; with maxHz, a held view goes out after newer views of other symbols, by
 * design (exact duplicate and loss checks are the nominal scenario's, watchers.ts).
 *
 * Per message, on the epoch clock every process of the machine shares:
 *  - deliveryMs = receive − receivedAt (the api's arrival time of the tick);
 *  - fromPublishMs = receive − the ms part of seq (Redis's clock at XADD + PUBLISH);
 *  - e2eMs = receive − view.ts (the tick's own ts), when the client parsed the view.
 */
import { serve } from './child';
import type { ClientReceipt } from './coverage';
import { LogHistogram, type LogHistogramJson, round } from './stats';

export const now = (): number => performance.timeOrigin + performance.now();

/** A seq (`<ms>-<n>`, the message's id in the history stream) as its two numbers. */
export function seqParts(seq: string): { seqMs: number; seqN: number } {
  const dash = seq.indexOf('-');
  return { seqMs: Number(seq.slice(0, dash)), seqN: Number(seq.slice(dash + 1)) };
}

/** One client of a fleet, as the window sees it. */
export interface FleetClient {
  ready: boolean;
  closed: boolean;
  /** The seq of the newest message the client received, as its two numbers. */
  lastSeqMs?: number;
  lastSeqN?: number;
  /** Since the phase's start: the first seq received, how many messages after each other, resets (coverage.ts). */
  phase?: { firstMs: number; firstN: number; received: number };
  phaseResets?: number;
  lastBeatAt?: number;
  close(): void;
}

/** The counts of one window: what a fleet process reports, and what the Fleet sums over its processes. */
export interface FleetWindowCounts {
  seconds: number;
  clients: number;
  messages: number;
  byType: Record<string, number>;
  messagesPerS: number;
  mbPerS: number;
  outOfOrder: number;
  resets: number;
  skipped: number;
  heartbeats: number;
}

/** What a fleet process answers to `collect`: its counts, and its latency histograms to merge. */
export interface FleetCollect extends FleetWindowCounts {
  delivery: LogHistogramJson;
  fromPublish: LogHistogramJson;
  e2e: LogHistogramJson;
  heartbeatGap: LogHistogramJson;
}

export interface FleetConnectOptions {
  host: string;
  port: number;
  path?: string;
  headers?: Record<string, string>;
  count: number;
  perSecond?: number;
  /** At most this many connections opened and not yet live (or failed) at once: a storm paced by what the server takes. */
  maxPending?: number;
  timeoutMs?: number;
  /** SSE: also parse each view's ts (e2e latency). */
  viewTs?: boolean;
}

export interface FleetConnect {
  connected: number;
  failed: number;
  pending: number;
}

export class FleetWindow {
  readonly startedAt = now();
  messages = 0;
  readonly byType: Record<string, number> = {};
  bytes = 0;
  outOfOrder = 0;
  skipped = 0;
  resets = 0;
  private readonly delivery = new LogHistogram();
  private readonly fromPublish = new LogHistogram();
  private readonly e2e = new LogHistogram();
  private heartbeats = 0;
  private readonly heartbeatGap = new LogHistogram();

  /** An SSE heartbeat comment at `at`: the gap since the client's previous one (idle phase: punctuality). */
  heartbeat(client: FleetClient, at: number): void {
    this.heartbeats += 1;
    if (client.lastBeatAt) this.heartbeatGap.record(at - client.lastBeatAt);
    client.lastBeatAt = at;
  }

  /**
   * One message received at `at` by `client` (which keeps its newest seq): counted, checked for
   * order, its latencies recorded (any of seq, receivedAt, viewTs may be missing).
   */
  message(
    client: FleetClient,
    at: number,
    {
      type,
      seqMs,
      seqN,
      receivedAt,
      viewTs,
      skipped,
    }: {
      type: string;
      seqMs?: number;
      seqN?: number;
      receivedAt?: number;
      viewTs?: number;
      skipped?: number;
    },
  ): void {
    this.messages += 1;
    this.byType[type] = (this.byType[type] ?? 0) + 1;
    if (seqMs !== undefined && seqN !== undefined) {
      const after =
        client.lastSeqMs === undefined || seqMs > client.lastSeqMs || (seqMs === client.lastSeqMs && seqN > (client.lastSeqN ?? -1));
      if (after) {
        client.lastSeqMs = seqMs;
        client.lastSeqN = seqN;
        // Only messages after the newest count toward coverage: a duplicate must not hide a loss.
        if (client.phase) client.phase.received += 1;
        else client.phase = { firstMs: seqMs, firstN: seqN, received: 1 };
      } else this.outOfOrder += 1;
      this.fromPublish.record(at - seqMs);
    }
    if (receivedAt) this.delivery.record(at - receivedAt);
    if (viewTs) this.e2e.record(at - viewTs);
    if (skipped) this.skipped += skipped;
  }

  summary(clients: number): FleetCollect {
    const seconds = (now() - this.startedAt) / 1000;
    return {
      seconds: round(seconds, 2),
      clients,
      messages: this.messages,
      byType: this.byType,
      messagesPerS: round(this.messages / seconds, 1),
      mbPerS: round(this.bytes / seconds / 1e6, 2),
      outOfOrder: this.outOfOrder,
      resets: this.resets,
      skipped: this.skipped,
      delivery: this.delivery.toJSON(),
      fromPublish: this.fromPublish.toJSON(),
      e2e: this.e2e.toJSON(),
      heartbeats: this.heartbeats,
      heartbeatGap: this.heartbeatGap.toJSON(),
    };
  }
}

/** The window a fleet's clients record into (replaced at each start and collect). */
export interface FleetState {
  window: FleetWindow;
}

/**
 * The child side of a fleet. `open(options, state, onReady)` opens one client and calls
 * onReady(ok) once it is live; `clients` is the set of open clients (each with ready, close()).
 * Commands: connect {count, perSecond, timeoutMs, …options} → {connected, failed, pending};
 * start (new window, and a new phase for coverage); collect (window summary, and a new window);
 * receipts (what each live client received since start: coverage.ts); close; exit.
 */
export function serveFleet({
  open,
  clients,
}: {
  open: (options: FleetConnectOptions, state: FleetState, onReady: (ok: boolean) => void) => void;
  clients: Set<FleetClient>;
}): void {
  const state: FleetState = { window: new FleetWindow() };

  async function connect(options: FleetConnectOptions): Promise<FleetConnect> {
    let connected = 0;
    let failed = 0;
    const started: Promise<void>[] = [];
    const perTick = Math.max(1, Math.floor((options.perSecond ?? 1000) / 20));
    for (let i = 0; i < options.count; i++) {
      started.push(
        new Promise((resolve) =>
          open(options, state, (ok) => {
            if (ok) connected += 1;
            else failed += 1;
            resolve();
          }),
        ),
      );
      if ((i + 1) % perTick === 0) await new Promise((r) => setTimeout(r, 50));
      while (options.maxPending && i + 1 - connected - failed >= options.maxPending) await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.race([Promise.all(started), new Promise((r) => setTimeout(r, options.timeoutMs ?? 60_000))]);
    return { connected, failed, pending: options.count - connected - failed };
  }

  serve(async (message) => {
    if (message.cmd === 'connect') return connect(message as unknown as FleetConnectOptions);
    if (message.cmd === 'start') {
      state.window = new FleetWindow();
      for (const client of clients) {
        client.phase = undefined;
        client.phaseResets = 0;
      }
      return { ok: true };
    }
    if (message.cmd === 'receipts') {
      return [...clients]
        .filter((c) => c.ready && !c.closed)
        .map(
          (c): ClientReceipt =>
            c.phase ? [c.phase.firstMs, c.phase.firstN, c.lastSeqMs ?? 0, c.lastSeqN ?? 0, c.phase.received, c.phaseResets ?? 0] : null,
        );
    }
    if (message.cmd === 'collect') {
      const result = state.window.summary([...clients].filter((c) => c.ready && !c.closed).length);
      state.window = new FleetWindow();
      return result;
    }
    if (message.cmd === 'close') {
      for (const client of [...clients]) client.close();
      return { ok: true };
    }
    return undefined;
  });
}
