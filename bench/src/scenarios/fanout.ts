/**
 * fanout: 1,000 then 5,000 concurrent SSE clients on one gateway process while the feeder
 * sends 100 ticks/s (one view per tick, so about 100 symbol.updated messages/s per client),
 * without and with maxHz. The clients run in their own processes (bench/src/lib/sse-fleet.ts) on
 * the same two cores. Each sub-phase is split into windows; its figures are the medians over
 * the windows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from '@md/testing';
import { Fleet, type FleetWindowSummary } from '../lib/child';
import { type ClientReceipt, type Coverage, coverage, type Seq } from '../lib/coverage';
import type { ProcessUsage } from '../lib/procstat';
import { histogramDelta, histogramSummaryMs, total } from '../lib/prom';
import { benchScript, type Service } from '../lib/service';
import { APPS, type Bench, type Log, started } from '../lib/stack';
import { median, medianOf, ratio, round } from '../lib/stats';
import { SYMBOLS } from './nominal';

export interface FanoutConfig {
  tps: number;
  phases: { clients: number; maxHz?: number }[];
  fleetProcesses: number;
  settleMs: number;
  windows: number;
  windowMs: number;
  closeWaitMs: number;
  socketioClients?: number;
  idle?: IdleConfig;
}

interface IdleConfig {
  clients: number;
  fleetProcesses: number;
  perSecond: number;
  /** Connections opened and not yet live at once, across the fleet: under the gateway's listen backlog (LISTEN_BACKLOG). */
  maxPending: number;
  settleMs: number;
  heartbeatMs: number;
  beats: number;
}

/** What measureFanout needs of a scenario's config. */
export interface MeasureConfig {
  settleMs: number;
  windows: number;
  windowMs: number;
  closeWaitMs: number;
  port: number;
  path?: string;
  headers?: Record<string, string>;
  clients: number;
  maxHz?: number;
}

/** The load of a fan-out phase. */
export interface Load {
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
}

export type FanoutPhase = Awaited<ReturnType<typeof measureFanout>>;

export async function fanout(bench: Bench, config: FanoutConfig, log: Log) {
  await bench.reset();
  const stack = await bench.startStack({ tag: 'fanout' });
  const api = stack.api;
  const gateway = started(stack.gateway, 'gateway');
  const fleet = new Fleet(config.fleetProcesses);
  bench.sampler.track('clients', () => fleet.pids);
  const phases: FanoutPhase[] = [];
  try {
    for (const { clients, maxHz } of config.phases) {
      const phase = await measureFanout(bench, fleet, 'gateway', feederLoad(bench, api, config.tps), {
        ...config,
        port: gateway.port,
        path: maxHz ? `/stream?maxHz=${maxHz}` : '/stream',
        headers: { 'x-api-key': bench.credentials.apiKey },
        clients,
        maxHz,
      });
      log(
        `fanout ${phase.connected} SSE clients${maxHz ? ` maxHz=${maxHz}` : ''}: delivery p99 ${phase.deliveryMs?.p99} ms, ` +
          `${phase.messagesPerS} msg/s, gateway ${phase.server.cpuPct} % CPU, ${phase.server.rssMaxMB} MB`,
      );
      phases.push(phase);
    }
  } finally {
    await fleet.stop();
    bench.sampler.untrack('clients');
  }
  let socketio: Awaited<ReturnType<typeof socketioComparison>>;
  let idlePhase: Awaited<ReturnType<typeof idle>> | undefined;
  try {
    // In the same run, on the same load: messages per CPU-second against Socket.IO.
    if (config.socketioClients) socketio = await socketioComparison(bench, api, config, config.socketioClients, phases, log);
    if (config.idle) idlePhase = await idle(bench, config.idle, log);
  } finally {
    await bench.stopAll();
  }
  return { tps: config.tps, phases, socketio, idle: idlePhase };
}

/** Socket.IO with its Redis adapter (bench/src/baselines/socketio-*.ts), at the clients of the gateway's first phase without maxHz. */
async function socketioComparison(bench: Bench, api: Service, config: FanoutConfig, clients: number, phases: FanoutPhase[], log: Log) {
  const ours = phases.find((p) => p.clients === clients && p.maxHz === null);
  if (!ours) return undefined;
  const sioEnv = { SIO_KEY: `${bench.prefix}:${bench.runId}:sio-fanout` };
  await bench.startScript('socketio-source', benchScript('socketio-source'), sioEnv);
  const server = await bench.startScript('socketio', benchScript('socketio-server'), sioEnv);
  const sio = new Fleet(config.fleetProcesses, 'sio-fleet', 'socketio-fleet');
  bench.sampler.track('clients', () => sio.pids);
  try {
    const baseline = await measureFanout(bench, sio, 'socketio', feederLoad(bench, api, config.tps), {
      ...config,
      port: server.port,
      clients,
    });
    const gatewayMessagesPerCpuS = ours.server.messagesPerCpuS;
    const socketioMessagesPerCpuS = baseline.server.messagesPerCpuS;
    const row = {
      clients,
      gatewayMessagesPerCpuS,
      socketioMessagesPerCpuS,
      socketioDeliveryMs: baseline.deliveryMs,
      socketioPerClientPerS: baseline.perClientPerS,
      ratio: ratio(gatewayMessagesPerCpuS, socketioMessagesPerCpuS),
    };
    log(
      `fanout vs socket.io at ${row.clients} clients: gateway ${row.gatewayMessagesPerCpuS} msg/CPU-s, socket.io ${row.socketioMessagesPerCpuS} msg/CPU-s → ${row.ratio}×`,
    );
    return row;
  } finally {
    await sio.stop();
    bench.sampler.untrack('clients');
    await bench.stop('socketio');
    await bench.stop('socketio-source');
  }
}

/** The soft `ulimit -n` of a process (its Max open files). */
function openFilesLimit(pid: number | undefined): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return !match || match[1] === 'unlimited' ? Infinity : Number(match[1]);
}

/** Descriptors a process holds now (its listener, Redis connections, stdio, epoll, …). */
function openFiles(pid: number | undefined): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Descriptors left free beside the streams: a few Redis reconnects, a metrics scrape, the log. */
const FD_SPARE = 16;

function rssKiB(pid: number | undefined): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : NaN;
}

/**
 * Idle connections on one gateway (nothing published): a connect storm of `clients` streams
 * as fast as the fleets open them (time, failures), the gateway's RSS per connection once they
 * are in, and the heartbeats over `beats` intervals: how many arrived and the gaps between them.
 * The gateway holds a descriptor per stream: where its `ulimit -n` is below `clients` plus what
 * it holds already, the storm is the largest the limit allows (`limitedBy` says so).
 */
async function idle(bench: Bench, config: IdleConfig, log: Log) {
  await bench.stop('gateway');
  const gateway = await bench.start(
    'gateway',
    APPS.gateway,
    { HEARTBEAT_MS: String(config.heartbeatMs), MAX_CLIENTS: String(config.clients + 100) },
    { tag: 'fanout-idle' },
  );
  const fleet = new Fleet(config.fleetProcesses);
  bench.sampler.track('clients', () => fleet.pids);
  try {
    await sleep(1_000);
    const fdLimit = openFilesLimit(gateway.pid);
    const fdsBefore = openFiles(gateway.pid);
    const clients = Math.min(config.clients, fdLimit - fdsBefore - FD_SPARE);
    const limitedBy =
      clients < config.clients ? `ulimit -n ${fdLimit} of the gateway (${fdsBefore} descriptors in use before the storm)` : undefined;
    if (limitedBy) log(`fanout idle: ${clients} connections rather than ${config.clients}: ${limitedBy}`);
    const rssBefore = rssKiB(gateway.pid);
    const startedAt = Date.now();
    const storm = await fleet.connect({
      host: '127.0.0.1',
      port: gateway.port,
      path: '/stream',
      headers: { 'x-api-key': bench.credentials.apiKey },
      count: clients,
      perSecond: config.perSecond,
      maxPending: config.maxPending,
      timeoutMs: 60_000,
    });
    const stormS = (Date.now() - startedAt) / 1000;
    await sleep(config.settleMs);
    await fleet.start();
    await sleep(config.heartbeatMs * config.beats + config.heartbeatMs / 2);
    const window = await fleet.collect();
    const rssAfter = rssKiB(gateway.pid);
    const result = {
      clients,
      asked: config.clients,
      limitedBy,
      connected: storm.connected,
      failed: storm.failed + storm.pending,
      stormSeconds: round(stormS, 1),
      rssBeforeMB: round(rssBefore / 1024, 1),
      rssAfterMB: round(rssAfter / 1024, 1),
      rssPerConnectionKB: round(((rssAfter - rssBefore) * 1.024) / Math.max(1, storm.connected), 1),
      heartbeatMs: config.heartbeatMs,
      heartbeats: window.heartbeats,
      // The window (beats + ½ intervals) holds `beats` or `beats + 1` beats of the gateway's one timer: at least this many.
      heartbeatsExpected: storm.connected * config.beats,
      heartbeatGapMs: window.heartbeatGapMs,
    };
    log(
      `fanout idle: ${result.connected}/${result.clients} connected in ${result.stormSeconds} s (${result.failed} failed), ${result.rssPerConnectionKB} KB RSS per connection, ` +
        `heartbeat gap p99 ${result.heartbeatGapMs?.p99} ms (every ${config.heartbeatMs} ms), ${result.heartbeats} heartbeats (at least ${result.heartbeatsExpected} due)`,
    );
    return result;
  } finally {
    await fleet.stop();
    bench.sampler.untrack('clients');
  }
}

/** The feeder at `tps` as the load of a fan-out phase: started once the clients are connected. */
export function feederLoad(bench: Bench, api: Service, tps: number): Load {
  return {
    start: () => bench.start('feeder', APPS.feeder, { TARGET_URL: `${api.url}/ingest/tick`, SYMBOLS: SYMBOLS.join(','), TPS: String(tps) }),
    stop: () => bench.stop('feeder'),
  };
}

/**
 * One sub-phase: `clients` clients of a fleet connect to the server tracked as `server` while
 * nothing is published (a connection storm is not what is measured), then the load starts,
 * settles, and the windows are measured. Messages per CPU-second = messages the clients
 * received per second ÷ the server process's CPU (cores busy) over the phase.
 */
export async function measureFanout(bench: Bench, fleet: Fleet, server: string, load: Load, config: MeasureConfig) {
  await bench.waitQuiet();
  const connected = await fleet.connect({
    host: '127.0.0.1',
    port: config.port,
    path: config.path,
    headers: config.headers,
    count: config.clients,
    perSecond: 2_000,
  });
  await load.start();
  await sleep(config.settleMs);
  // The phase's scrapes can take seconds from a busy server: the clients' window starts after them.
  const phase = await bench.beginPhase();
  await fleet.start();
  const windows: FleetWindowSummary[] = [];
  for (let w = 0; w < config.windows; w++) {
    await sleep(config.windowMs);
    windows.push(await fleet.collect());
  }
  // Every message, not only fast ones: without maxHz nothing may be conflated or dropped.
  const receipts = server === 'gateway' && !config.maxHz ? await fleet.receipts() : undefined;
  const measured = await phase.end();
  await load.stop();
  await fleet.close();
  await sleep(config.closeWaitMs);
  const usage: Partial<ProcessUsage> = measured.usage.processes[server] ?? {};
  const messages = windows.reduce((s, w) => s + w.messages, 0);
  const seconds = windows.reduce((s, w) => s + w.seconds, 0);
  const result = {
    // Rates over rates: the clients' windows and the CPU phase cover nearly, not exactly, the same time.
    server: { ...usage, messagesPerCpuS: round(messages / seconds / Math.max((usage.cpuPct ?? 0) / 100, 1e-9), 0) },
    clients: config.clients,
    maxHz: config.maxHz ?? null,
    connected: connected.connected,
    failedToConnect: connected.failed + connected.pending,
    deliveryMs: medianOf(windows.map((w) => w.deliveryMs)),
    fromPublishMs: medianOf(windows.map((w) => w.fromPublishMs)),
    messagesPerS: round(median(windows.map((w) => w.messagesPerS)), 1),
    perClientPerS: round(messages / seconds / Math.max(1, connected.connected), 2),
    outOfOrder: windows.reduce((s, w) => s + w.outOfOrder, 0),
    skipped: windows.reduce((s, w) => s + w.skipped, 0),
    processes: measured.usage.processes,
    machine: measured.usage.machine,
    gatewaySide: undefined as GatewaySide | undefined,
    coverage: receipts && (await receivedOfPublished(bench, receipts, connected.connected)),
  };
  const before = measured.metricsBefore.gateway ?? [];
  const after = measured.metricsAfter.gateway ?? [];
  // An overloaded gateway may not answer the scrape at either end (it then reads as empty):
  // no gateway-side figures rather than a delta against nothing.
  if (server === 'gateway' && before.length > 0 && after.length > 0) {
    const perS = (name: string) => round((total(after, name) - total(before, name)) / measured.scrapedSeconds, 1);
    result.gatewaySide = {
      sentPerS: perS('md_gateway_messages_sent_total'),
      conflatedPerS: perS('md_gateway_messages_conflated_total'),
      dropped: total(after, 'md_gateway_clients_dropped_total') - total(before, 'md_gateway_clients_dropped_total'),
      deliveryMs: histogramSummaryMs(histogramDelta(before, after, 'md_gateway_delivery_seconds')),
    };
  }
  return result;
}

/**
 * The clients' receipts against the realtime history (the symbol.updated messages a `/stream`
 * client takes by default), or why they cannot be checked.
 */
async function receivedOfPublished(bench: Bench, receipts: ClientReceipt[], connected: number): Promise<Coverage | { unchecked: string }> {
  const seen = receipts.filter((r): r is NonNullable<ClientReceipt> => r !== null);
  if (seen.length === 0) return coverage([], receipts, connected);
  const from = seen.reduce((a, r) => (r[0] < a[0] || (r[0] === a[0] && r[1] < a[1]) ? [r[0], r[1]] : a), [seen[0][0], seen[0][1]]);
  const to = seen.reduce((a, r) => (r[2] > a[0] || (r[2] === a[0] && r[3] > a[1]) ? [r[2], r[3]] : a), [seen[0][2], seen[0][3]]);
  const history = `${bench.prefix}:history:${bench.channel}`;
  const seq = (id: string): Seq => [Number(id.slice(0, id.indexOf('-'))), Number(id.slice(id.indexOf('-') + 1))];
  const [oldest] = await bench.redis.xrange(history, '-', '+', 'COUNT', 1);
  const first = oldest && seq(oldest[0]);
  if (!first || first[0] > from[0] || (first[0] === from[0] && first[1] > from[1]))
    return { unchecked: 'the history no longer holds the first message received' };
  const entries = await bench.redis.xrange(history, `${from[0]}-${from[1]}`, `${to[0]}-${to[1]}`);
  const published = entries.filter(([, fields]) => fields[1]?.includes('"type":"symbol.updated"')).map(([id]) => seq(id));
  return coverage(published, receipts, connected);
}

interface GatewaySide {
  sentPerS: number;
  conflatedPerS: number;
  dropped: number;
  deliveryMs: ReturnType<typeof histogramSummaryMs>;
}
