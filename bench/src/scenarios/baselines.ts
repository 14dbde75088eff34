/**
 * baselines: the floors our stages are compared with, measured in the same run, on the same
 * machine, with the same load and the same clients.
 *  - rawIngest: bench/src/baselines/raw-ingest.ts (the same Redis work as one ingest, nothing
 *    else) against orchestrator-api alone (no flusher, no consumers: the ingest path only),
 *    both saturated by the same closed-loop generator, in alternating repeats.
 *  - socketio: Socket.IO + its Redis adapter (bench/src/baselines/socketio-*.ts) against the
 *    gateway, the same feeder messages to the same number of clients: messages delivered per
 *    CPU-second of the fan-out process.
 *  - pgCopy: `COPY` (psql) of the same rows into the same table, in transactions of the
 *    flusher's batch size, against the flusher draining a pre-filled buffer of entries of 100
 *    ticks (what batch ingest appends): rows/s, timed in-database from the first row written to
 *    the last (bench_written_at). Once more from entries of one tick (single ticks that each
 *    came alone), reported beside it.
 */
import { spawn } from 'node:child_process';
import type { ReceivedTick } from '@md/contracts';
import { sleep, waitUntil } from '@md/testing';
import { Child, Fleet } from '../lib/child';
import type { LoadResult } from '../lib/loadgen';
import { benchScript } from '../lib/service';
import { type Bench, BUFFER_ENTRY_MAX_TICKS, type Log, started } from '../lib/stack';
import { median, medianOf, ratio, round } from '../lib/stats';
import { type FanoutPhase, feederLoad, measureFanout } from './fanout';
import { SYMBOLS } from './nominal';

export interface BaselinesConfig {
  ingestRepeats: number;
  ingestConnections: number;
  ingestMs: number;
  ingestWarmupMs: number;
  socketioClients: number[];
  fleetProcesses: number;
  settleMs: number;
  windows: number;
  windowMs: number;
  closeWaitMs: number;
  copyRows: number;
  copyRepeats: number;
  flushBatch: number;
}

export async function baselines(bench: Bench, config: BaselinesConfig, log: Log) {
  return {
    rawIngest: await rawIngest(bench, config, log),
    socketio: await socketio(bench, config, log),
    pgCopy: await pgCopy(bench, config, log),
  };
}

/** Medians of a measurement's repeats, with ours/baseline ratios of the named keys. */
function compare<T extends object, K extends keyof T>(ours: T[], baseline: T[], keys: K[]) {
  const o = medianOf(ours);
  const b = medianOf(baseline);
  const ratios = {} as Record<K, number | null>;
  for (const key of keys) ratios[key] = ratio(o?.[key] as number | undefined, b?.[key] as number | undefined);
  return { ours: o, baseline: b, ratio: ratios, repeats: { ours, baseline } };
}

async function rawIngest(bench: Bench, config: BaselinesConfig, log: Log) {
  const generator = new Child('loadgen', 'loadgen');
  bench.sampler.track('loadgen', () => [generator.pid]);
  type Result = {
    requestsPerS: number;
    acceptedPerS: number;
    errors: number;
    ackMs: LoadResult['overall']['ackMs'];
    cpuPct: number;
    cpuMsPerRequest: number;
    redisCpuPct?: number;
    loadgenCpuPct?: number;
    rssMaxMB: number;
    loopLagP99Ms: number | null;
    redisCommands: unknown[];
  };
  const ours: Result[] = [];
  const raw: Result[] = [];
  try {
    for (let r = 0; r < config.ingestRepeats; r++) {
      for (const kind of r % 2 ? ['raw', 'ours'] : ['ours', 'raw']) {
        await bench.reset();
        const server =
          kind === 'ours'
            ? (await bench.startStack({ consumers: false, gateway: false, flush: false, tag: `baseline-ingest-${r}` })).api
            : await bench.startScript('raw', benchScript('raw-ingest'), {}, { tag: `baseline-raw-${r}` });
        const name = kind === 'ours' ? 'api' : 'raw';
        // A short warm-up (JIT, connections), then the measured run.
        const run = (durationMs: number, tag: string) =>
          generator.call<LoadResult>({
            cmd: 'run',
            host: '127.0.0.1',
            port: server.port,
            path: '/ingest/tick',
            auth: `${bench.credentials.user}:${bench.credentials.password}`,
            mode: 'closed',
            connections: config.ingestConnections,
            durationMs,
            tag,
          });
        await run(config.ingestWarmupMs, `${bench.runId}-warm-${kind}-${r}`);
        await bench.waitQuiet();
        const phase = await bench.beginPhase();
        const load = await run(config.ingestMs, `${bench.runId}-${kind}-${r}`);
        const measured = await phase.end();
        const usage = measured.usage.processes[name];
        const result: Result = {
          requestsPerS: load.overall.okRps,
          acceptedPerS: load.overall.acceptedTps,
          errors: load.overall.errors,
          ackMs: load.overall.ackMs,
          cpuPct: usage.cpuPct,
          cpuMsPerRequest: round((1000 * usage.cpuS) / Math.max(1, load.overall.okRps * (config.ingestMs / 1000)), 3),
          redisCpuPct: measured.usage.processes.redis?.cpuPct,
          loadgenCpuPct: measured.usage.processes.loadgen?.cpuPct,
          rssMaxMB: usage.rssMaxMB,
          loopLagP99Ms: usage.loopLagP99Ms ?? null,
          redisCommands: measured.redisCommands.top.slice(0, 8),
        };
        (kind === 'ours' ? ours : raw).push(result);
        log(
          `baseline ingest ${kind} ${r + 1}/${config.ingestRepeats}: ${result.requestsPerS} req/s, p99 ${result.ackMs.p99} ms, ${result.cpuPct} % CPU`,
        );
        await bench.stopAll();
      }
    }
  } finally {
    await generator.stop();
    bench.sampler.untrack('loadgen');
    await bench.stopAll();
  }
  return { connections: config.ingestConnections, seconds: config.ingestMs / 1000, ...compare(ours, raw, ['requestsPerS']) };
}

async function socketio(bench: Bench, config: BaselinesConfig, log: Log) {
  await bench.reset();
  const stack = await bench.startStack({ tag: 'baseline-socketio' });
  const api = stack.api;
  const gateway = started(stack.gateway, 'gateway');
  const load = feederLoad(bench, api, 100);
  const sioEnv = { SIO_KEY: `${bench.prefix}:${bench.runId}:sio` };
  await bench.startScript('socketio-source', benchScript('socketio-source'), sioEnv);
  const server = await bench.startScript('socketio', benchScript('socketio-server'), sioEnv);
  const sse = new Fleet(config.fleetProcesses);
  const sio = new Fleet(config.fleetProcesses, 'sio-fleet', 'socketio-fleet');
  bench.sampler.track('clients', () => [...sse.pids, ...sio.pids]);
  const comparisons = [];
  try {
    for (const clients of config.socketioClients) {
      const ours = await measureFanout(bench, sse, 'gateway', load, {
        ...config,
        port: gateway.port,
        path: '/stream',
        headers: { 'x-api-key': bench.credentials.apiKey },
        clients,
      });
      const baseline = await measureFanout(bench, sio, 'socketio', load, { ...config, port: server.port, clients });
      const pick = (p: FanoutPhase) => ({
        clients: p.connected,
        messagesPerS: p.messagesPerS,
        messagesPerCpuS: p.server.messagesPerCpuS,
        cpuPct: p.server.cpuPct,
        rssMaxMB: p.server.rssMaxMB,
        loopLagP99Ms: p.server.loopLagP99Ms ?? null,
        deliveryMs: p.deliveryMs,
      });
      const row = { clients, ours: pick(ours), baseline: pick(baseline) };
      const ratios = { messagesPerCpuS: ratio(row.ours.messagesPerCpuS, row.baseline.messagesPerCpuS) };
      log(
        `baseline fan-out ${clients} clients: gateway ${row.ours.messagesPerCpuS} msg/CPU-s, socket.io ${row.baseline.messagesPerCpuS} msg/CPU-s → ${ratios.messagesPerCpuS}×`,
      );
      comparisons.push({ ...row, ratio: ratios });
    }
  } finally {
    await Promise.all([sse.stop(), sio.stop()]);
    bench.sampler.untrack('clients');
    await bench.stopAll();
  }
  return { comparisons, ratio: { messagesPerCpuS: median(comparisons.map((c) => c.ratio.messagesPerCpuS)) } };
}

/** The ticks of the pgCopy comparison, as the api buffers them. */
function makeTicks(n: number, tag: string): ReceivedTick[] {
  const start = Date.now() - 60_000;
  return Array.from({ length: n }, (_, i) => ({
    symbol: SYMBOLS[i % SYMBOLS.length],
    price: 100 + (i % 1000) / 10,
    volume: (i % 97) / 10,
    source: 'bench',
    ts: start + Math.floor(i / 10),
    event_id: `${tag}-${i}`,
    receivedAt: start + Math.floor(i / 10) + 2,
    traceId: `t-${i}`,
  }));
}

async function rowsPerSecond(bench: Bench) {
  const { rows } = await bench.pg.query<{ n: number; s: string | null }>(
    'SELECT count(*)::int AS n, extract(epoch FROM max(bench_written_at) - min(bench_written_at)) AS s FROM md_ticks',
  );
  return { rows: rows[0].n, seconds: Number(rows[0].s), rowsPerS: round(rows[0].n / Math.max(Number(rows[0].s), 1e-6), 0) };
}

/** The flusher draining `ticks` from a buffer of entries of `perEntry` ticks (100: batch ingest; 1: single ticks arriving alone). */
async function flusherRun(bench: Bench, ticks: ReceivedTick[], r: number | string, perEntry = BUFFER_ENTRY_MAX_TICKS) {
  await bench.reset();
  await bench.fillBuffer(ticks, perEntry);
  await bench.waitQuiet();
  const phase = await bench.beginPhase();
  await bench.startStack({ consumers: false, gateway: false, flush: true, tag: `baseline-flush-${r}` });
  await waitUntil(async () => (await bench.rowCount()) >= ticks.length, 'the flusher to write every row', 300_000, 50);
  const measured = await phase.end();
  await bench.stopAll();
  return {
    ...(await rowsPerSecond(bench)),
    apiCpuPct: measured.usage.processes.api?.cpuPct,
    postgresCpuPct: measured.usage.processes.postgres?.cpuPct,
    postgres: measured.postgres,
  };
}

function copyRun(bench: Bench, ticks: ReceivedTick[], batch: number): Promise<void> {
  const iso = (ms: number) => new Date(ms).toISOString();
  let script = '';
  for (let i = 0; i < ticks.length; i += batch) {
    script += 'BEGIN;\nCOPY md_ticks (event_id, symbol, price, volume, source, ts, received_at) FROM STDIN;\n';
    for (const t of ticks.slice(i, i + batch))
      script += `${t.event_id}\t${t.symbol}\t${t.price}\t${t.volume}\t${t.source}\t${iso(t.ts)}\t${iso(t.receivedAt)}\n`;
    script += '\\.\nCOMMIT;\n';
  }
  return new Promise((resolve, reject) => {
    const psql = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', bench.pgUrl, '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let errors = '';
    psql.stderr.on('data', (chunk: Buffer) => (errors += chunk));
    psql.on('error', reject);
    psql.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited ${code}: ${errors}`))));
    psql.stdin.end(script);
  });
}

async function pgCopy(bench: Bench, config: BaselinesConfig, log: Log) {
  const ticks = makeTicks(config.copyRows, `${bench.runId}-copy`);
  const flusher: Awaited<ReturnType<typeof flusherRun>>[] = [];
  const copy: Awaited<ReturnType<typeof rowsPerSecond>>[] = [];
  for (let r = 0; r < config.copyRepeats; r++) {
    flusher.push(await flusherRun(bench, ticks, r));
    await bench.reset();
    await bench.waitQuiet();
    await copyRun(bench, ticks, config.flushBatch);
    copy.push(await rowsPerSecond(bench));
    log(`baseline postgres ${r + 1}/${config.copyRepeats}: flusher ${flusher[r].rowsPerS} rows/s, COPY ${copy[r].rowsPerS} rows/s`);
  }
  // Once, from entries of one tick each: what single ticks that each come alone leave in the buffer.
  const oneTickEntries = await flusherRun(bench, ticks, 'one-tick-entries', 1);
  log(`baseline postgres: flusher from one-tick entries ${oneTickEntries.rowsPerS} rows/s`);
  await bench.reset();
  await sleep(100);
  return {
    rows: config.copyRows,
    batch: config.flushBatch,
    ...compare<{ rowsPerS: number }, 'rowsPerS'>(flusher, copy, ['rowsPerS']),
    oneTickEntries: { rowsPerS: oneTickEntries.rowsPerS },
  };
}
