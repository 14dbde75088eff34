/**
 * The nominal scenario's browser stand-ins: a few EventSource clients (@md/testing's, which
 * reconnect as a browser does) in a child process, each subscribed to symbol.updated and
 * tick.received, keeping every latency sample (exact percentiles) and what they received, to
 * check for loss and duplicates against PostgreSQL afterwards.
 *
 * Per symbol.updated, on the epoch clock every process of the machine shares:
 *  - e2eMs = receive − view.ts (the tick's ts, stamped by the feeder when it made the tick);
 *  - deliveryMs = receive − receivedAt (the api's arrival time of the tick);
 *  - stage split: toApiMs = receivedAt − view.ts, pipelineMs = seq ms (Redis's clock at the
 *    view's XADD + PUBLISH) − receivedAt, fanoutMs = receive − seq ms.
 *
 * Protocol (IPC): open {url, count} → {connected}; start; collect → summary;
 * verify {ids, countsBySymbol} → loss and duplicates per client; close.
 */
import type { SymbolUpdatedMessage, TickReceivedMessage } from '@md/contracts';
import { EventSource } from '@md/testing';
import { serve } from './child';
import { round, type Summary, summarize } from './stats';

/** As the gateway delivers them: every message carries its seq. */
type Delivered<T> = T & { seq: string };

interface Watcher {
  ids: Map<string, number>;
  seqs: Set<string>;
  duplicateSeqs: number;
  tickCount: Record<string, number>;
  resets: number;
  ready: boolean;
  source: EventSource;
}

export interface WatchersWindow {
  seconds: number;
  updates: number;
  ticks: number;
  e2eMs: Summary;
  deliveryMs: Summary;
  stagesMs: { toApi: Summary; pipeline: Summary; fanout: Summary };
}

export interface WatcherCheck {
  ticksReceived: number;
  missingTicks: number;
  unknownTicks: number;
  duplicateTicks: number;
  duplicateSeqs: number;
  viewsShort: number;
  viewsOver: number;
  resets: number;
  reconnects: number;
}

const now = () => performance.timeOrigin + performance.now();
let clients: Watcher[] = [];

function newWindow() {
  return {
    e2e: [] as number[],
    delivery: [] as number[],
    toApi: [] as number[],
    pipeline: [] as number[],
    fanout: [] as number[],
    updates: 0,
    ticks: 0,
    startedAt: now(),
  };
}
let window = newWindow();

function open({ url, count, timeoutMs = 30_000 }: { url: string; count: number; timeoutMs?: number }): Promise<{ connected: number }> {
  return new Promise((resolve) => {
    let ready = 0;
    const timer = setTimeout(() => resolve({ connected: ready }), timeoutMs);
    for (let i = 0; i < count; i++) {
      const client: Watcher = {
        ids: new Map(),
        seqs: new Set(),
        duplicateSeqs: 0,
        tickCount: {},
        resets: 0,
        ready: false,
        source: new EventSource(url),
      };
      client.source.addEventListener('snapshot', (event) => {
        for (const view of (JSON.parse(event.data) as { views: { symbol: string; tickCount: number }[] }).views)
          client.tickCount[view.symbol] = view.tickCount;
        if (!client.ready) {
          client.ready = true;
          if (++ready === count) {
            clearTimeout(timer);
            resolve({ connected: ready });
          }
        }
      });
      client.source.addEventListener('reset', () => (client.resets += 1));
      client.source.addEventListener('symbol.updated', (event) => {
        const at = now();
        const message = JSON.parse(event.data) as Delivered<SymbolUpdatedMessage>;
        const seqMs = Number(message.seq.split('-')[0]);
        if (client.seqs.has(message.seq)) client.duplicateSeqs += 1;
        client.seqs.add(message.seq);
        client.tickCount[message.symbol] = Math.max(client.tickCount[message.symbol] ?? 0, message.view.tickCount);
        window.updates += 1;
        window.e2e.push(at - message.view.ts);
        if (message.receivedAt) {
          window.delivery.push(at - message.receivedAt);
          window.toApi.push(message.receivedAt - message.view.ts);
          window.pipeline.push(seqMs - message.receivedAt);
        }
        window.fanout.push(at - seqMs);
      });
      client.source.addEventListener('tick.received', (event) => {
        const message = JSON.parse(event.data) as Delivered<TickReceivedMessage>;
        if (client.seqs.has(message.seq)) client.duplicateSeqs += 1;
        client.seqs.add(message.seq);
        client.ids.set(message.event_id, (client.ids.get(message.event_id) ?? 0) + 1);
        window.ticks += 1;
      });
      clients.push(client);
    }
  });
}

function collect(): WatchersWindow {
  const w = window;
  window = newWindow();
  return {
    seconds: round((now() - w.startedAt) / 1000, 2),
    updates: w.updates,
    ticks: w.ticks,
    e2eMs: summarize(w.e2e),
    deliveryMs: summarize(w.delivery),
    stagesMs: { toApi: summarize(w.toApi), pipeline: summarize(w.pipeline), fanout: summarize(w.fanout) },
  };
}

/** What each client missed or got twice, against the event_ids in PostgreSQL and each symbol's tick count there. */
function verify({ ids, countsBySymbol }: { ids: string[]; countsBySymbol: Record<string, number> }): WatcherCheck[] {
  const expected = new Set(ids);
  return clients.map((client) => {
    let missing = 0;
    for (const id of expected) if (!client.ids.has(id)) missing += 1;
    let extra = 0;
    let duplicateTicks = 0;
    for (const [id, n] of client.ids) {
      if (!expected.has(id)) extra += 1;
      if (n > 1) duplicateTicks += n - 1;
    }
    let viewsShort = 0;
    let viewsOver = 0;
    for (const [symbol, count] of Object.entries(countsBySymbol)) {
      const seen = client.tickCount[symbol] ?? 0;
      if (seen < count) viewsShort += count - seen;
      if (seen > count) viewsOver += seen - count;
    }
    return {
      ticksReceived: client.ids.size,
      missingTicks: missing,
      unknownTicks: extra,
      duplicateTicks,
      duplicateSeqs: client.duplicateSeqs,
      viewsShort,
      viewsOver,
      resets: client.resets,
      reconnects: client.source.reconnects,
    };
  });
}

serve(async (message) => {
  if (message.cmd === 'open') return open(message as unknown as { url: string; count: number; timeoutMs?: number });
  if (message.cmd === 'start') {
    window = newWindow();
    return { ok: true };
  }
  if (message.cmd === 'collect') return collect();
  if (message.cmd === 'verify') return verify(message as unknown as { ids: string[]; countsBySymbol: Record<string, number> });
  if (message.cmd === 'close') {
    for (const client of clients) client.source.close();
    clients = [];
    return { ok: true };
  }
  return undefined;
});
