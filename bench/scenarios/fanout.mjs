/**
 * fanout: 1,000 then 5,000 concurrent SSE clients on one gateway process while the feeder
 * sends 100 ticks/s (one view per tick, so about 100 symbol.updated messages/s per client),
 * without and with maxHz. The clients run in their own processes (bench/lib/sse-fleet.mjs) on
 * the same two cores. Each sub-phase is split into windows; its figures are the medians over
 * the windows.
 */
import { readFileSync } from 'node:fs';
import { Fleet } from '../lib/child.mjs';
import { histogramDelta, histogramSummaryMs, total } from '../lib/prom.mjs';
import { sleep } from '../lib/service.mjs';
import { APPS } from '../lib/stack.mjs';
import stats from '../lib/stats.cjs';
import { SYMBOLS } from './nominal.mjs';

export async function fanout(bench, config, log) {
  await bench.reset();
  const { api, gateway } = await bench.startStack({ tag: 'fanout' });
  const fleet = new Fleet(config.fleetProcesses);
  bench.sampler.track('clients', () => fleet.pids);
  const phases = [];
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
  let socketio;
  let idlePhase;
  try {
    // In the same run, on the same load: messages per CPU-second against Socket.IO.
    if (config.socketioClients) socketio = await socketioComparison(bench, api, config, phases, log);
    if (config.idle) idlePhase = await idle(bench, config.idle, log);
  } finally {
    await bench.stopAll();
  }
  return { tps: config.tps, phases, socketio, idle: idlePhase };
}

/** Socket.IO with its Redis adapter (bench/baselines/socketio-*.mjs), at the clients of the gateway's first phase without maxHz. */
async function socketioComparison(bench, api, config, phases, log) {
  const ours = phases.find((p) => p.clients === config.socketioClients && p.maxHz === null);
  if (!ours) return undefined;
  const sioEnv = { SIO_KEY: `${bench.prefix}:${bench.runId}:sio-fanout` };
  await bench.startScript('socketio-source', 'bench/baselines/socketio-source.mjs', sioEnv);
  const server = await bench.startScript('socketio', 'bench/baselines/socketio-server.mjs', sioEnv);
  const sio = new Fleet(config.fleetProcesses, 'sio-fleet', '../baselines/socketio-fleet.mjs');
  bench.sampler.track('clients', () => sio.pids);
  try {
    const baseline = await measureFanout(bench, sio, 'socketio', feederLoad(bench, api, config.tps), { ...config, port: server.port, clients: config.socketioClients });
    const row = {
      clients: config.socketioClients,
      gatewayMessagesPerCpuS: ours.server.messagesPerCpuS,
      socketioMessagesPerCpuS: baseline.server.messagesPerCpuS,
      socketioDeliveryMs: baseline.deliveryMs,
      socketioPerClientPerS: baseline.perClientPerS,
    };
    row.ratio = stats.ratio(row.gatewayMessagesPerCpuS, row.socketioMessagesPerCpuS);
    log(`fanout vs socket.io at ${row.clients} clients: gateway ${row.gatewayMessagesPerCpuS} msg/CPU-s, socket.io ${row.socketioMessagesPerCpuS} msg/CPU-s → ${row.ratio}×`);
    return row;
  } finally {
    await sio.stop();
    bench.sampler.untrack('clients');
    await bench.stop('socketio');
    await bench.stop('socketio-source');
  }
}

function rssKiB(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : NaN;
}

/**
 * Idle connections on one gateway (nothing published): a connect storm of `clients` streams
 * as fast as the fleets open them (time, failures), the gateway's RSS per connection once they
 * are in, and the heartbeats over `beats` intervals: how many arrived and the gaps between them.
 */
async function idle(bench, config, log) {
  await bench.stop('gateway');
  const gateway = await bench.start('gateway', APPS.gateway, { HEARTBEAT_MS: String(config.heartbeatMs), MAX_CLIENTS: String(config.clients + 100) }, { tag: 'fanout-idle' });
  const fleet = new Fleet(config.fleetProcesses);
  bench.sampler.track('clients', () => fleet.pids);
  try {
    await sleep(1_000);
    const rssBefore = rssKiB(gateway.pid);
    const started = Date.now();
    const storm = await fleet.connect({
      host: '127.0.0.1',
      port: gateway.port,
      path: '/stream',
      headers: { 'x-api-key': bench.credentials.apiKey },
      count: config.clients,
      perSecond: config.perSecond,
      timeoutMs: 60_000,
    });
    const stormS = (Date.now() - started) / 1000;
    await sleep(config.settleMs);
    await fleet.start();
    await sleep(config.heartbeatMs * config.beats + config.heartbeatMs / 2);
    const window = await fleet.collect();
    const rssAfter = rssKiB(gateway.pid);
    const result = {
      clients: config.clients,
      connected: storm.connected,
      failed: storm.failed + storm.pending,
      stormSeconds: stats.round(stormS, 1),
      rssBeforeMB: stats.round(rssBefore / 1024, 1),
      rssAfterMB: stats.round(rssAfter / 1024, 1),
      rssPerConnectionKB: stats.round(((rssAfter - rssBefore) * 1.024) / Math.max(1, storm.connected), 1),
      heartbeatMs: config.heartbeatMs,
      heartbeats: window.heartbeats,
      heartbeatsExpected: storm.connected * config.beats,
      heartbeatGapMs: window.heartbeatGapMs,
    };
    log(
      `fanout idle: ${result.connected}/${result.clients} connected in ${result.stormSeconds} s (${result.failed} failed), ${result.rssPerConnectionKB} KB RSS per connection, ` +
        `heartbeat gap p99 ${result.heartbeatGapMs?.p99} ms (every ${config.heartbeatMs} ms), ${result.heartbeats}/${result.heartbeatsExpected} heartbeats`,
    );
    return result;
  } finally {
    await fleet.stop();
    bench.sampler.untrack('clients');
  }
}

/** The feeder at `tps` as the load of a fan-out phase: started once the clients are connected. */
export function feederLoad(bench, api, tps) {
  return {
    start: () => bench.start('feeder', 'feeder', { TARGET_URL: `${api.url}/ingest/tick`, SYMBOLS: SYMBOLS.join(','), TPS: String(tps) }),
    stop: () => bench.stop('feeder'),
  };
}

/**
 * One sub-phase: `clients` clients of a fleet connect to the server tracked as `server` while
 * nothing is published (a connection storm is not what is measured), then the load starts,
 * settles, and the windows are measured. Messages per CPU-second = messages the clients
 * received per second ÷ the server process's CPU (cores busy) over the phase.
 */
export async function measureFanout(bench, fleet, server, load, config) {
  await bench.waitQuiet();
  const connected = await fleet.connect({ host: '127.0.0.1', port: config.port, path: config.path, headers: config.headers, count: config.clients, perSecond: 2_000 });
  await load.start();
  await sleep(config.settleMs);
  // The phase's scrapes can take seconds from a busy server: the clients' window starts after them.
  const phase = await bench.beginPhase();
  await fleet.start();
  const windows = [];
  for (let w = 0; w < config.windows; w++) {
    await sleep(config.windowMs);
    windows.push(await fleet.collect());
  }
  const measured = await phase.end();
  await load.stop();
  await fleet.close();
  await sleep(config.closeWaitMs);
  const usage = measured.usage.processes[server] ?? {};
  const messages = windows.reduce((s, w) => s + w.messages, 0);
  const seconds = windows.reduce((s, w) => s + w.seconds, 0);
  const result = {
    server,
    clients: config.clients,
    maxHz: config.maxHz ?? null,
    connected: connected.connected,
    failedToConnect: connected.failed + connected.pending,
    deliveryMs: stats.medianOf(windows.map((w) => w.deliveryMs)),
    fromPublishMs: stats.medianOf(windows.map((w) => w.fromPublishMs)),
    messagesPerS: stats.round(stats.median(windows.map((w) => w.messagesPerS)), 1),
    perClientPerS: stats.round(messages / seconds / Math.max(1, connected.connected), 2),
    outOfOrder: windows.reduce((s, w) => s + w.outOfOrder, 0),
    skipped: windows.reduce((s, w) => s + w.skipped, 0),
    // Rates over rates: the clients' windows and the CPU phase cover nearly, not exactly, the same time.
    server: { ...usage, messagesPerCpuS: stats.round(messages / seconds / Math.max((usage.cpuPct ?? 0) / 100, 1e-9), 0) },
    processes: measured.usage.processes,
    machine: measured.usage.machine,
  };
  if (server === 'gateway') {
    const before = measured.metricsBefore.gateway ?? [];
    const after = measured.metricsAfter.gateway ?? [];
    result.gatewaySide = {
      sentPerS: stats.round((total(after, 'md_gateway_messages_sent_total') - total(before, 'md_gateway_messages_sent_total')) / measured.scrapedSeconds, 1),
      conflatedPerS: stats.round((total(after, 'md_gateway_messages_conflated_total') - total(before, 'md_gateway_messages_conflated_total')) / measured.scrapedSeconds, 1),
      dropped: total(after, 'md_gateway_clients_dropped_total') - total(before, 'md_gateway_clients_dropped_total'),
      deliveryMs: histogramSummaryMs(histogramDelta(before, after, 'md_gateway_delivery_seconds')),
    };
  }
  return result;
}
