/**
 * fanout: 1,000 then 5,000 concurrent SSE clients on one gateway process while the feeder
 * sends 100 ticks/s (one view per tick, so about 100 symbol.updated messages/s per client),
 * without and with maxHz. The clients run in their own processes (bench/lib/sse-fleet.mjs) on
 * the same two cores. Each sub-phase is split into windows; its figures are the medians over
 * the windows.
 */
import { Fleet } from '../lib/child.mjs';
import { histogramDelta, histogramSummaryMs, total } from '../lib/prom.mjs';
import { sleep } from '../lib/service.mjs';
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
    await bench.stopAll();
  }
  return { tps: config.tps, phases };
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
