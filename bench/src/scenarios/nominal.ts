/**
 * nominal: the feeder at 100 ticks/s over 5 symbols with 20 EventSource clients on the
 * gateway, the whole pipeline running. Repeated; every figure is the median over repeats.
 * The first `warmupS` seconds of each run (boot, JIT, pools) are not measured, but their
 * ticks are checked for loss and duplicates like the others.
 *
 * ackMs: every request's round trip inside the feeder (probes/ack-probe.ts);
 * e2eMs: tick ts → symbol.updated received by an EventSource client, with its split by stage;
 * pgMs: received_at → row written, read from the rows; lost / duplicated: every accepted tick
 * must be in md_ticks once, reach every client once as tick.received, and be counted once in
 * its symbol's view.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, waitUntil } from '@md/testing';
import { Child } from '../lib/child';
import { histogramDelta, histogramSummaryMs } from '../lib/prom';
import { benchScript } from '../lib/service';
import { type Bench, type Log, started } from '../lib/stack';
import { medianOf, summarize } from '../lib/stats';
import type { WatcherCheck, WatchersWindow } from '../lib/watchers';

export const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT', 'XRPUSDT'];

export interface NominalConfig {
  repeats: number;
  seconds: number;
  warmupS: number;
  tps: number;
  clients: number;
}

export async function nominal(bench: Bench, config: NominalConfig, log: Log) {
  const repeats: Awaited<ReturnType<typeof once>>[] = [];
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
    ackMs: medianOf(repeats.map((r) => r.ackMs)),
    e2eMs: medianOf(repeats.map((r) => r.e2eMs)),
    pgMs: medianOf(repeats.map((r) => r.pgMs)),
    lost,
    duplicated,
    deliveryMs: medianOf(repeats.map((r) => r.deliveryMs)),
    stagesMs: medianOf(repeats.map((r) => r.stagesMs)),
    serverSide: medianOf(repeats.map((r) => r.serverSide)),
    processes: medianOf(repeats.map((r) => r.usage.processes)),
    machine: medianOf(repeats.map((r) => r.usage.machine)),
    redisCommands: repeats[repeats.length - 1].redisCommands,
    // Each run without its Redis command table (the last run's is above).
    runs: repeats.map((run) => ({ ...run, redisCommands: undefined })),
  };
}

/** The feeder's progress counts. */
const OUTCOMES = ['sent', 'accepted', 'duplicate', 'rejected', 'failed', 'retries'] as const;

async function once(bench: Bench, config: NominalConfig, tag: string) {
  await bench.reset();
  const stack = await bench.startStack({ tag });
  const api = stack.api;
  const gateway = started(stack.gateway, 'gateway');
  const watchers = new Child('watchers', 'watchers');
  bench.sampler.track('clients', () => [watchers.pid]);
  try {
    const token = await bench.streamToken(gateway);
    const url = `${gateway.url}/stream?types=symbol.updated,tick.received&token=${encodeURIComponent(token)}`;
    const opened = await watchers.call<{ connected: number }>({ cmd: 'open', url, count: config.clients });
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
      { nodeArgs: ['--require', benchScript('ack-probe')], keepLines: true, wait: false, tag },
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
    const outcome = Object.fromEntries(OUTCOMES.map((key) => [key, 0])) as Record<(typeof OUTCOMES)[number], number>;
    for (const line of feeder.lines) {
      if (!line.includes('"progress"')) continue;
      const progress = (JSON.parse(line) as { progress?: Partial<Record<(typeof OUTCOMES)[number], number>> }).progress;
      for (const key of OUTCOMES) outcome[key] += progress?.[key] ?? 0;
    }

    // Everything accepted must come out at the end: rows, views, and every client's stream.
    await waitUntil(async () => (await bench.rowCount()) >= outcome.accepted, 'every accepted tick in md_ticks', 30_000, 100).catch(
      () => undefined,
    );
    await bench.drained(30_000);
    await sleep(1_000);
    const window = await watchers.call<WatchersWindow>({ cmd: 'collect' });
    const { rows } = await bench.pg.query<{ event_id: string; symbol: string }>('SELECT event_id, symbol FROM md_ticks');
    const countsBySymbol: Record<string, number> = {};
    for (const row of rows) countsBySymbol[row.symbol] = (countsBySymbol[row.symbol] ?? 0) + 1;
    const clients = await watchers.call<WatcherCheck[]>({ cmd: 'verify', ids: rows.map((row) => row.event_id), countsBySymbol });
    const sum = (key: keyof WatcherCheck) => clients.reduce((s, c) => s + c[key], 0);
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

    const acks = JSON.parse(readFileSync(ackFile, 'utf8')) as [number, number, number][];
    const ok = acks.filter(([at, , status]) => status === 200 && at >= measuredFrom).map(([, ms]) => ms);
    const before = measured.metricsBefore;
    const after = measured.metricsAfter;
    return {
      ackMs: summarize(ok, 3),
      e2eMs: window.e2eMs,
      deliveryMs: window.deliveryMs,
      stagesMs: window.stagesMs,
      pgMs: await bench.pgLatency(measuredFrom),
      lost: check.rowsMissing + check.clientTicksMissing + check.viewCountShort + outcome.failed + outcome.rejected,
      duplicated: check.rowsExtra + check.clientDuplicateTicks + check.clientDuplicateMessages + check.viewCountOver,
      check,
      // The services' own histograms over the phase, as a cross-check (bucket resolution).
      serverSide: {
        apiIngestMs: histogramSummaryMs(
          histogramDelta(before.api ?? [], after.api ?? [], 'md_http_request_duration_seconds', { route: '/ingest/tick' }),
        ),
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
