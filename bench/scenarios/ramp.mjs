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
import { Child, Fleet } from '../lib/child.mjs';
import { sleep } from '../lib/service.mjs';
import stats from '../lib/stats.cjs';

const ACK_P99_LIMIT_MS = 50;
const VIEW_P99_LIMIT_MS = 1_000;
const PG_P99_LIMIT_MS = 5_000;

export async function ramp(bench, config, log) {
  const single = await rampOne(bench, { ...config, batch: 1, start: config.startSingle, connections: config.connectionsSingle }, log);
  const batch = await rampOne(bench, { ...config, batch: 100, start: config.startBatch, connections: config.connectionsBatch }, log);
  return { maxTps: single.maxTps, maxTpsBatch: batch.maxTps, single, batch };
}

async function rampOne(bench, config, log) {
  const kind = config.batch === 1 ? 'single' : `batch${config.batch}`;
  await bench.reset();
  const { api, gateway } = await bench.startStack({ tag: `ramp-${kind}` });
  const generator = new Child('./loadgen.mjs', 'loadgen');
  const watchers = new Fleet(1, 'ramp-watchers');
  bench.sampler.track('loadgen', () => [generator.pid]);
  bench.sampler.track('clients', () => watchers.pids);
  const steps = [];
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
    await generator.call({ ...loadOptions(bench, api, config), rate: config.start, durationMs: config.warmupMs, tag: `${bench.runId}-${kind}-warm` });
    await bench.drained(config.drainTimeoutMs);
    for (let rate = config.start, n = 0; rate <= config.maxRate; rate = Math.round(rate * 1.5), n++) {
      const step = await runStep(bench, generator, watchers, api, { ...config, rate, tag: `${bench.runId}-${kind}-${n}` });
      steps.push(step);
      const k = step.keepsUp;
      log(
        `ramp ${kind} ${rate}/s: accepted ${step.acceptedTps}/s, ack p99 ${step.ackMs.p99} ms, view p99 ${step.viewMs.p99} ms, ` +
          `pg p99 ${step.pgMs.p99} ms, queue slope ${step.queueSlopePerS}/s, drained in ${step.drainMs ?? '—'} ms → ` +
          Object.entries(k)
            .map(([stage, ok]) => `${stage} ${ok ? 'ok' : 'BEHIND'}`)
            .join(', '),
      );
      if (step.ackMs.p99 > ACK_P99_LIMIT_MS) {
        stopReason = `ack p99 ${step.ackMs.p99} ms > ${ACK_P99_LIMIT_MS} ms at ${rate}/s`;
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
  const limitedBy = above ? Object.entries(above.keepsUp).filter(([, ok]) => !ok).map(([stage]) => stage) : [];
  return { batch: config.batch, maxTps, limitedBy, stopReason, steps };
}

function loadOptions(bench, api, config) {
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

async function runStep(bench, generator, watchers, api, config) {
  const windowMs = config.stepMs / config.windows;
  const quiet = await bench.waitQuiet();
  await watchers.start();
  const phase = await bench.beginPhase();
  const backlog = bench.watchBacklog(250);
  const from = Date.now();
  const viewWindows = [];
  let collecting = true;
  const windowLoop = (async () => {
    for (let w = 0; w < config.windows && collecting; w++) {
      await sleep(windowMs);
      viewWindows.push(await watchers.collect());
    }
  })();
  const load = await generator.call({ ...loadOptions(bench, api, config), rate: config.rate, durationMs: config.stepMs, windowMs, tag: config.tag });
  collecting = false;
  await windowLoop;
  const to = Date.now();
  const points = await backlog.stop();
  const measured = await phase.end();
  const drainMs = await bench.drained(config.drainTimeoutMs);
  const pgMs = await bench.pgLatency(from, to);

  const windows = load.windows;
  const ackMs = stats.medianOf(windows.map((w) => w.ackIntendedMs));
  const viewMs = stats.medianOf(viewWindows.map((w) => w.deliveryMs));
  const e2eMs = stats.medianOf(viewWindows.map((w) => w.e2eMs));
  const last = points[points.length - 1] ?? {};
  const queue = points.map((p) => [p.t, (p.ticksQueue ?? 0) + (p.viewsQueue ?? 0)]);
  const buffer = points.map((p) => [p.t, p.buffer ?? 0]);
  const queueSlope = stats.slope(queue);
  const bufferSlope = stats.slope(buffer);
  const rate = config.rate;
  // Over the whole step: a window holds a whole number of batches, so its rate is coarse.
  const acceptedTps = load.overall.acceptedTps;
  const keepsUp = {
    ingest: acceptedTps >= 0.97 * load.overall.dueTps && load.overall.errors === 0 && (ackMs?.p99 ?? Infinity) <= ACK_P99_LIMIT_MS,
    consumers: queueSlope <= 0.05 * rate || (last.ticksQueue ?? 0) + (last.viewsQueue ?? 0) <= rate + config.batch,
    views: (viewMs?.n ?? 0) > 0 && viewMs.p99 <= VIEW_P99_LIMIT_MS,
    postgres: (bufferSlope <= 0.05 * rate || (last.buffer ?? 0) <= 2 * rate + config.batch) && pgMs.n > 0 && pgMs.p99 <= PG_P99_LIMIT_MS,
  };
  return {
    rate,
    requestsPerS: stats.round(rate / config.batch, 1),
    acceptedTps,
    errors: load.overall.errors,
    late: load.overall.late,
    ackMs,
    ackSendMs: stats.medianOf(windows.map((w) => w.ackMs)),
    viewMs,
    e2eMs,
    pgMs,
    queueSlopePerS: stats.round(queueSlope, 1),
    bufferSlopePerS: stats.round(bufferSlope, 1),
    queueAtEnd: (last.ticksQueue ?? 0) + (last.viewsQueue ?? 0),
    bufferAtEnd: last.buffer ?? 0,
    drainMs,
    keepsUp,
    processes: measured.usage.processes,
    machine: measured.usage.machine,
    waitedForQuietMs: quiet.waitedMs,
    redisCommands: measured.redisCommands.top.slice(0, 6),
    postgres: measured.postgres,
  };
}
