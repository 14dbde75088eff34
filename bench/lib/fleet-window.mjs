/**
 * What a fleet of fan-out clients (SSE: sse-fleet.mjs; Socket.IO: baselines/socketio-fleet.mjs)
 * records in one window, and the IPC loop both fleets run as child processes. Latencies go
 * into mergeable 1 % histograms; the parent merges the fleets' windows (child.mjs, Fleet).
 *
 * A message whose seq is not above the client's previous one counts as out of order: never
 * without conflation; with maxHz, a held view goes out after newer views of other symbols, by
 * design (exact duplicate and loss checks are the nominal scenario's, bench/lib/watchers.mjs).
 *
 * Per message, on the epoch clock every process of the machine shares:
 *  - deliveryMs = receive − receivedAt (the api's arrival time of the tick);
 *  - fromPublishMs = receive − the ms part of seq (Redis's clock at XADD + PUBLISH);
 *  - e2eMs = receive − view.ts (the tick's own ts), when the client parsed the view.
 */
import stats from './stats.cjs';

export const now = () => performance.timeOrigin + performance.now();

function seqParts(seq) {
  const dash = seq.indexOf('-');
  return [Number(seq.slice(0, dash)), Number(seq.slice(dash + 1))];
}

/** Whether seq `a` comes after `b` (or `b` is unset). */
export function seqAfter(a, b) {
  if (!b) return true;
  const [am, an] = seqParts(a);
  const [bm, bn] = seqParts(b);
  return am > bm || (am === bm && an > bn);
}

export class FleetWindow {
  constructor() {
    this.startedAt = now();
    this.messages = 0;
    this.byType = {};
    this.bytes = 0;
    this.outOfOrder = 0;
    this.skipped = 0;
    this.resets = 0;
    this.delivery = new stats.LogHistogram();
    this.fromPublish = new stats.LogHistogram();
    this.e2e = new stats.LogHistogram();
    this.heartbeats = 0;
    this.heartbeatGap = new stats.LogHistogram();
  }

  /** An SSE heartbeat comment at `at`: the gap since the client's previous one (idle phase: punctuality). */
  heartbeat(client, at) {
    this.heartbeats += 1;
    if (client.lastBeatAt) this.heartbeatGap.record(at - client.lastBeatAt);
    client.lastBeatAt = at;
  }

  /**
   * One message received at `at` by `client` (which keeps `lastSeq`): counted, checked for
   * order, its latencies recorded (any of seq, receivedAt, viewTs may be missing).
   */
  message(client, at, type, { seq, receivedAt, viewTs, skipped }) {
    this.messages += 1;
    this.byType[type] = (this.byType[type] ?? 0) + 1;
    if (seq) {
      if (!seqAfter(seq, client.lastSeq)) this.outOfOrder += 1;
      else client.lastSeq = seq;
      this.fromPublish.record(at - Number(seq.slice(0, seq.indexOf('-'))));
    }
    if (receivedAt) this.delivery.record(at - receivedAt);
    if (viewTs) this.e2e.record(at - viewTs);
    if (skipped) this.skipped += skipped;
  }

  summary(clients) {
    const seconds = (now() - this.startedAt) / 1000;
    return {
      seconds: stats.round(seconds, 2),
      clients,
      messages: this.messages,
      byType: this.byType,
      messagesPerS: stats.round(this.messages / seconds, 1),
      mbPerS: stats.round(this.bytes / seconds / 1e6, 2),
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

/**
 * The child side of a fleet. `connect(options, onReady)` opens one client and calls
 * onReady(ok) once it is live; `clients` is the set of open clients (each with ready, close()).
 * Commands: connect {count, perSecond, timeoutMs, …options} → {connected, failed, pending};
 * start (new window); collect (window summary, and a new window); close; exit.
 */
export function serveFleet({ open, clients }) {
  const state = { window: new FleetWindow() };

  async function connect(options) {
    let connected = 0;
    let failed = 0;
    const started = [];
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
    }
    await Promise.race([Promise.all(started), new Promise((r) => setTimeout(r, options.timeoutMs ?? 60_000))]);
    return { connected, failed, pending: options.count - connected - failed };
  }

  process.on('message', async (message) => {
    let result;
    try {
      if (message.cmd === 'connect') result = await connect(message);
      else if (message.cmd === 'start') {
        state.window = new FleetWindow();
        result = { ok: true };
      } else if (message.cmd === 'collect') {
        result = state.window.summary([...clients].filter((c) => c.ready && !c.closed).length);
        state.window = new FleetWindow();
      } else if (message.cmd === 'close') {
        for (const client of [...clients]) client.close();
        result = { ok: true };
      } else if (message.cmd === 'exit') process.exit(0);
      process.send({ type: 'result', result });
    } catch (error) {
      process.send({ type: 'error', error: String(error?.stack ?? error) });
    }
  });
}
