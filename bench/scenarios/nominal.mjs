/**
 * nominal: the feeder at 100 ticks/s over 5 symbols with 20 EventSource clients on the
 * gateway, the whole pipeline running. Repeated; every figure is the median over repeats.
 * The first `warmupS` seconds of each run (boot, JIT, pools) are not measured, but their
 * ticks are checked for loss and duplicates like the others.
 *
 * ackMs: every request's round trip inside the feeder (bench/probes/ack-probe.cjs);
 * e2eMs: tick ts → symbol.updated received by an EventSource client, with its split by stage;
 * pgMs: received_at → row written, read from the rows; lost / duplicated: every accepted tick
 * must be in md_ticks once, reach every client once as tick.received, and be counted once in
 * its symbol's view.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Child } from '../lib/child.mjs';
import { histogramDelta, histogramSummaryMs } from '../lib/prom.mjs';
import { ROOT, sleep, waitUntil } from '../lib/service.mjs';
import stats from '../lib/stats.cjs';

export const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT', 'XRPUSDT'];

export async function nominal(bench, config, log) {
  const repeats = [];
  for (let r = 0; r < config.repeats; r++) {
    log(`nominal ${r + 1}/${config.repeats}: ${config.tps} ticks/s for ${config.seconds} s, ${config.clients} EventSource clients`);
    repeats.push(await once(bench, config, `nominal-${r}`));
  }
  const lost = Math.max(...repeats.map((r) => r.lost));
  const duplicated = Math.max(...repeats.map((r) => r.duplicated));
  return {
    repeats: repeats.length,
    tps: config.tps,
    seconds: config.seconds,
    warmupS: config.warmupS,
    clients: config.clients,
    ackMs: stats.medianOf(repeats.map((r) => r.ackMs)),
    e2eMs: stats.medianOf(repeats.map((r) => r.e2eMs)),
    pgMs: stats.medianOf(repeats.map((r) => r.pgMs)),
    lost,
    duplicated,
    deliveryMs: stats.medianOf(repeats.map((r) => r.deliveryMs)),
    stagesMs: stats.medianOf(repeats.map((r) => r.stagesMs)),
    serverSide: stats.medianOf(repeats.map((r) => r.serverSide)),
    processes: stats.medianOf(repeats.map((r) => r.usage.processes)),
    machine: stats.medianOf(repeats.map((r) => r.usage.machine)),
    redisCommands: repeats[repeats.length - 1].redisCommands,
    // Each run without its Redis command table (the last run's is above).
    runs: repeats.map((run) => ({ ...run, redisCommands: undefined })),
  };
}

async function once(bench, config, tag) {
  await bench.reset();
  const { api, gateway } = await bench.startStack({ tag });
  const watchers = new Child('./watchers.mjs', 'watchers');
  bench.sampler.track('clients', () => [watchers.pid]);
  try {
    const token = await bench.streamToken(gateway);
    const url = `${gateway.url}/stream?types=symbol.updated,tick.received&token=${encodeURIComponent(token)}`;
    const opened = await watchers.call({ cmd: 'open', url, count: config.clients });
    if (opened.connected !== config.clients) throw new Error(`only ${opened.connected}/${config.clients} EventSource clients connected`);
    const quiet = await bench.waitQuiet();
    const ackFile = join(bench.logDir, `${tag}.acks.json`);
    const feeder = await bench.start(
      'feeder',
      'feeder',
      {
        TARGET_URL: `${api.url}/ingest/tick`,
        SYMBOLS: SYMBOLS.join(','),
        TPS: String(config.tps),
        DURATION_S: String(config.warmupS + config.seconds),
        PROGRESS_INTERVAL_S: '1',
        LOG_LEVEL: 'info',
        BENCH_ACK_FILE: ackFile,
      },
      { nodeArgs: ['--require', join(ROOT, 'bench/probes/ack-probe.cjs')], keepLines: true, wait: false, tag },
    );
    // Warm-up (boot, JIT, connection pools): the ticks count for loss and duplicates, not for latency or CPU.
    await sleep(config.warmupS * 1000);
    // The phase's first scrapes cost the services a few ms: measure from after them.
    const phase = await bench.beginPhase();
    const measuredFrom = Date.now();
    await watchers.call({ cmd: 'start' });
    const code = await feeder.exit;
    const measured = await phase.end();
    await bench.stop('feeder');
    if (code !== 0) throw new Error(`feeder exited ${code}:\n${feeder.tail.join('\n')}`);

    // The feeder's own account, from its progress lines (counts since the previous line).
    const outcome = { sent: 0, accepted: 0, duplicate: 0, rejected: 0, failed: 0, retries: 0 };
    for (const line of feeder.lines) {
      if (!line.includes('"progress"')) continue;
      const progress = JSON.parse(line).progress;
      for (const key of Object.keys(outcome)) outcome[key] += progress?.[key] ?? 0;
    }

    // Everything accepted must come out at the end: rows, views, and every client's stream.
    await waitUntil(async () => (await bench.rowCount()) >= outcome.accepted, 'every accepted tick in md_ticks', 30_000, 100).catch(() => undefined);
    await bench.drained(30_000);
    await sleep(1_000);
    const window = await watchers.call({ cmd: 'collect' });
    const { rows } = await bench.pg.query('SELECT event_id, symbol FROM md_ticks');
    const countsBySymbol = {};
    for (const row of rows) countsBySymbol[row.symbol] = (countsBySymbol[row.symbol] ?? 0) + 1;
    const clients = await watchers.call({ cmd: 'verify', ids: rows.map((row) => row.event_id), countsBySymbol });
    const sum = (key) => clients.reduce((s, c) => s + c[key], 0);
    const check = {
      feeder: outcome,
      rows: rows.length,
      rowsMissing: Math.max(0, outcome.accepted - rows.length),
      rowsExtra: Math.max(0, rows.length - outcome.accepted),
      clientTicksMissing: sum('missingTicks'),
      clientTicksUnknown: sum('unknownTicks'),
      clientDuplicateTicks: sum('duplicateTicks'),
      clientDuplicateMessages: sum('duplicateSeqs'),
      viewCountShort: sum('viewsShort'),
      viewCountOver: sum('viewsOver'),
      resets: sum('resets'),
      reconnects: sum('reconnects'),
    };

    const acks = JSON.parse(readFileSync(ackFile, 'utf8'));
    const ok = acks.filter(([at, , status]) => status === 200 && at >= measuredFrom).map(([, ms]) => ms);
    const before = measured.metricsBefore;
    const after = measured.metricsAfter;
    return {
      ackMs: stats.summarize(ok, 3),
      e2eMs: window.e2eMs,
      deliveryMs: window.deliveryMs,
      stagesMs: window.stagesMs,
      pgMs: await bench.pgLatency(measuredFrom),
      lost: check.rowsMissing + check.clientTicksMissing + check.viewCountShort + outcome.failed + outcome.rejected,
      duplicated: check.rowsExtra + check.clientDuplicateTicks + check.clientDuplicateMessages + check.viewCountOver,
      check,
      // The services' own histograms over the phase, as a cross-check (bucket resolution).
      serverSide: {
        apiIngestMs: histogramSummaryMs(histogramDelta(before.api ?? [], after.api ?? [], 'md_http_request_duration_seconds', { route: '/ingest/tick' })),
        tickToViewMs: histogramSummaryMs(histogramDelta(before.consumers ?? [], after.consumers ?? [], 'md_tick_to_view_seconds')),
        gatewayDeliveryMs: histogramSummaryMs(histogramDelta(before.gateway ?? [], after.gateway ?? [], 'md_gateway_delivery_seconds')),
        ingestToRowMs: histogramSummaryMs(histogramDelta(before.api ?? [], after.api ?? [], 'md_ingest_to_row_seconds')),
      },
      usage: measured.usage,
      postgres: measured.postgres,
      quiet,
      redisCommands: measured.redisCommands,
    };
  } finally {
    await watchers.call({ cmd: 'close' }).catch(() => undefined);
    await watchers.stop();
    bench.sampler.untrack('clients');
    await bench.stopAll();
  }
}
