/**
 * ramp: open-loop ingest stepped up ×1.5 per step, single ticks (`/ingest/tick`) and batches
 * of 100 (`/ingest/ticks`), with the whole pipeline running and two SSE clients watching the
 * views. Each step is split into windows; a step's figures are the medians over its windows.
 * Between steps the pipeline drains.
 *
 * A stage keeps up at a step when:
 *  - ingest: ≥ 97 % of the offered ticks accepted, no error, ack p99 ≤ 50 ms (from the time
 *    each request was due, so a saturated api cannot hide behind a slowed generator);
 *  - consumers: the queues (ticks and views, waiting + active) do not keep growing: their
 *    slope stays under 5 % of the offered rate, or they hold under a second of work (plus one
 *    request's batch) at the end;
 *  - views: ingest → view received by the SSE clients p99 ≤ 1 s (NFR-2);
 *  - postgres: the flush buffer does not keep growing (same rule, with a flush interval more of
 *    slack) and ingest → row p99 ≤ 5 s (NFR-1).
 * The ramp stops once ack p99 passes 50 ms, the queues keep growing, or the pipeline does not
 * drain after a step. maxTps is the highest step where every stage kept up.
 */
import { sleep } from '@md/testing';
import { Child, Fleet, type FleetWindowSummary } from '../lib/child';
import type { LoadResult, RunOptions } from '../lib/loadgen';
import type { Service } from '../lib/service';
import { type Bench, type Log, type Measured, started } from '../lib/stack';
import { medianOf, round, slope } from '../lib/stats';

const ACK_P99_LIMIT_MS = 50;
const VIEW_P99_LIMIT_MS = 1_000;
const PG_P99_LIMIT_MS = 5_000;

export interface RampConfig {
  startSingle: number;
  startBatch: number;
  maxRate: number;
  warmupMs: number;
  stepMs: number;
  windows: number;
  drainTimeoutMs: number;
  connectionsSingle: number;
  connectionsBatch: number;
  /** Which ramps run (--ramp=…; default both). */
  kinds?: readonly RampKind[];
}

export type RampKind = 'single' | 'batch';

interface RampOneConfig extends RampConfig {
  batch: number;
  start: number;
  connections: number;
}

interface StepConfig extends RampOneConfig {
  rate: number;
  tag: string;
}

export async function ramp(bench: Bench, config: RampConfig, log: Log) {
  const runs = (kind: RampKind) => config.kinds?.includes(kind) ?? true;
  const single = runs('single')
    ? await rampOne(bench, { ...config, batch: 1, start: config.startSingle, connections: config.connectionsSingle }, log)
    : undefined;
  const batch = runs('batch')
    ? await rampOne(bench, { ...config, batch: 100, start: config.startBatch, connections: config.connectionsBatch }, log)
    : undefined;
  return { maxTps: single?.maxTps, maxTpsBatch: batch?.maxTps, single, batch };
}

type Step = Awaited<ReturnType<typeof runStep>>;

async function rampOne(bench: Bench, config: RampOneConfig, log: Log) {
  const kind = config.batch === 1 ? 'single' : `batch${config.batch}`;
  await bench.reset();
  const stack = await bench.startStack({ tag: `ramp-${kind}` });
  const api = stack.api;
  const gateway = started(stack.gateway, 'gateway');
  const generator = new Child('loadgen', 'loadgen');
  const watchers = new Fleet(1, 'ramp-watchers');
  bench.sampler.track('loadgen', () => [generator.pid]);
  bench.sampler.track('clients', () => watchers.pids);
  const steps: Step[] = [];
  let stopReason = 'reached the highest step';
  try {
    await watchers.connect({
      host: '127.0.0.1',
      port: gateway.port,
      path: '/stream',
      headers: { 'x-api-key': bench.credentials.apiKey },
      count: 2,
      viewTs: true,
    });
    // Warm-up at the first step's rate (boot, JIT, pools), not measured.
    await generator.call<LoadResult>({
      ...loadOptions(bench, api, config),
      rate: config.start,
      durationMs: config.warmupMs,
      tag: `${bench.runId}-${kind}-warm`,
    });
    await bench.drained(config.drainTimeoutMs);
    for (let rate = config.start, n = 0; rate <= config.maxRate; rate = Math.round(rate * 1.5), n++) {
      const step = await runStep(bench, generator, watchers, api, { ...config, rate, tag: `${bench.runId}-${kind}-${n}` });
      steps.push(step);
      const k = step.keepsUp;
      log(
        `ramp ${kind} ${rate}/s: accepted ${step.acceptedTps}/s, ack p99 ${step.ackMs?.p99} ms, view p99 ${step.viewMs?.p99} ms, ` +
          `pg p99 ${step.pgMs.p99} ms, queue slope ${step.queueSlopePerS}/s, drained in ${step.drainMs ?? '—'} ms → ` +
          Object.entries(k)
            .map(([stage, ok]) => `${stage} ${ok ? 'ok' : 'BEHIND'}`)
            .join(', '),
      );
      const ackP99 = step.ackMs?.p99 ?? null;
      if (ackP99 !== null && ackP99 > ACK_P99_LIMIT_MS) {
        stopReason = `ack p99 ${ackP99} ms > ${ACK_P99_LIMIT_MS} ms at ${rate}/s`;
        break;
      }
      if (!k.consumers) {
        stopReason = `queue lag kept growing at ${rate}/s`;
        break;
      }
      if (step.drainMs === null) {
        stopReason = `the pipeline did not drain within ${config.drainTimeoutMs / 1000} s after ${rate}/s`;
        break;
      }
    }
  } finally {
    await watchers.close().catch(() => undefined);
    await Promise.all([watchers.stop(), generator.stop()]);
    bench.sampler.untrack('loadgen');
    bench.sampler.untrack('clients');
    await bench.stopAll();
  }
  const good = steps.filter((s) => Object.values(s.keepsUp).every(Boolean));
  const maxTps = good.length ? Math.max(...good.map((s) => s.rate)) : 0;
  // The stage that first fell behind above maxTps names the limit.
  const above = steps.find((s) => s.rate > maxTps);
  const limitedBy = above
    ? Object.entries(above.keepsUp)
        .filter(([, ok]) => !ok)
        .map(([stage]) => stage)
    : [];
  return { batch: config.batch, maxTps, limitedBy, stopReason, steps };
}

function loadOptions(bench: Bench, api: Service, config: RampOneConfig): Omit<RunOptions, 'durationMs' | 'tag'> & { cmd: 'run' } {
  return {
    cmd: 'run',
    host: '127.0.0.1',
    port: api.port,
    path: config.batch === 1 ? '/ingest/tick' : '/ingest/ticks',
    auth: `${bench.credentials.user}:${bench.credentials.password}`,
    mode: 'open',
    batch: config.batch,
    connections: config.connections,
  };
}

async function runStep(bench: Bench, generator: Child, watchers: Fleet, api: Service, config: StepConfig) {
  const windowMs = config.stepMs / config.windows;
  const quiet = await bench.waitQuiet();
  await watchers.start();
  const phase = await bench.beginPhase();
  // The step's cost: from its first tick until the pipeline has drained it (queues and buffer
  // empty), so every stage's work for the step's ticks is in, whatever stage lagged.
  const cost = await bench.beginPhase();
  const backlog = bench.watchBacklog(250);
  const from = Date.now();
  const viewWindows: FleetWindowSummary[] = [];
  let collecting = true;
  const windowLoop = (async () => {
    for (let w = 0; w < config.windows && collecting; w++) {
      await sleep(windowMs);
      viewWindows.push(await watchers.collect());
    }
  })();
  const load = await generator.call<LoadResult>({
    ...loadOptions(bench, api, config),
    rate: config.rate,
    durationMs: config.stepMs,
    windowMs,
    tag: config.tag,
  });
  collecting = false;
  await windowLoop;
  const to = Date.now();
  const points = await backlog.stop();
  const measured = await phase.end();
  const drainMs = await bench.drained(config.drainTimeoutMs);
  const costs = await cost.end();
  const pgMs = await bench.pgLatency(from, to);

  const windows = load.windows;
  const ackMs = medianOf(windows.map((w) => w.ackIntendedMs));
  const viewMs = medianOf(viewWindows.map((w) => w.deliveryMs));
  const e2eMs = medianOf(viewWindows.map((w) => w.e2eMs));
  const last = points[points.length - 1] ?? { t: 0 };
  const queue = points.map((p): [number, number] => [p.t, (p.ticksQueue ?? 0) + (p.viewsQueue ?? 0)]);
  const buffer = points.map((p): [number, number] => [p.t, p.buffer ?? 0]);
  const queueSlope = slope(queue);
  const bufferSlope = slope(buffer);
  const rate = config.rate;
  // Over the whole step: a window holds a whole number of batches, so its rate is coarse.
  const acceptedTps = load.overall.acceptedTps;
  const keepsUp = {
    ingest: acceptedTps >= 0.97 * load.overall.dueTps && load.overall.errors === 0 && (ackMs?.p99 ?? Infinity) <= ACK_P99_LIMIT_MS,
    consumers: queueSlope <= 0.05 * rate || (last.ticksQueue ?? 0) + (last.viewsQueue ?? 0) <= rate + config.batch,
    views: (viewMs?.n ?? 0) > 0 && (viewMs?.p99 ?? Infinity) <= VIEW_P99_LIMIT_MS,
    postgres:
      (bufferSlope <= 0.05 * rate || (last.buffer ?? 0) <= 2 * rate + config.batch) &&
      pgMs.n > 0 &&
      (pgMs.p99 ?? Infinity) <= PG_P99_LIMIT_MS,
  };
  return {
    rate,
    requestsPerS: round(rate / config.batch, 1),
    acceptedTps,
    errors: load.overall.errors,
    late: load.overall.late,
    ackMs,
    ackSendMs: medianOf(windows.map((w) => w.ackMs)),
    viewMs,
    e2eMs,
    pgMs,
    queueSlopePerS: round(queueSlope, 1),
    bufferSlopePerS: round(bufferSlope, 1),
    queueAtEnd: (last.ticksQueue ?? 0) + (last.viewsQueue ?? 0),
    bufferAtEnd: last.buffer ?? 0,
    drainMs,
    keepsUp,
    processes: measured.usage.processes,
    machine: measured.usage.machine,
    waitedForQuietMs: quiet.waitedMs,
    redisCommands: measured.redisCommands.top.slice(0, 6),
    postgres: measured.postgres,
    perTick: drainMs === null ? null : perTickCosts(costs, load.overall.accepted),
  };
}

/**
 * What one accepted tick cost the machine: CPU milliseconds of each process and Redis commands
 * (all of them, and the most expensive by name), over the step and its drain. These move far
 * less between machines than throughput: they are the figures to compare across runs.
 * Null when the step did not drain (its ticks' cost is not all in).
 */
export function perTickCosts(measured: Measured, ticks: number) {
  if (ticks <= 0) return null;
  const perTick = (n: number) => round(n / ticks, 3);
  return {
    ticks,
    cpuMs: Object.fromEntries(Object.entries(measured.usage.processes).map(([name, p]) => [name, perTick(p.cpuS * 1000)])),
    redisCommands: perTick(measured.redisCommands.calls),
    redisCommandsByName: Object.fromEntries(measured.redisCommands.top.map((c) => [c.command, perTick(c.calls)])),
  };
}
