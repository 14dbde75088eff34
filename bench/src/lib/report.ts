/**
 * The targets of issue 9, judged against a run, and the run as a markdown report.
 */
import type { BaselinesConfig, baselines } from '../scenarios/baselines';
import type { FanoutConfig, fanout } from '../scenarios/fanout';
import type { NominalConfig, nominal } from '../scenarios/nominal';
import type { RampConfig, ramp } from '../scenarios/ramp';
import type { StorageConfig, storage } from '../scenarios/storage';
import type { ProfileSummary } from './cpuprofile';
import type { ProcessUsage } from './procstat';
import { ratio } from './stats';

/** A scenario's result, or why it failed. */
export type Outcome<T> = T | { error: string };

export type NominalResult = Awaited<ReturnType<typeof nominal>>;
export type RampResult = Awaited<ReturnType<typeof ramp>>;
export type FanoutResult = Awaited<ReturnType<typeof fanout>>;
export type BaselinesResult = Awaited<ReturnType<typeof baselines>>;
export type StorageResult = Awaited<ReturnType<typeof storage>>;

export interface Config {
  nominal: NominalConfig;
  ramp: RampConfig;
  fanout: FanoutConfig;
  baselines: BaselinesConfig;
  storage: StorageConfig;
}

export interface Machine {
  cores: number;
  cpuModel?: string;
  memoryGiB: number;
  os: string;
  node: string;
  redis?: string;
  postgres?: string;
  loadAverage: number[];
  commit?: string;
  dirty: boolean;
}

export interface Target {
  name: string;
  goal: string;
  value: number | null;
  met: boolean | null;
  limitedBy?: string;
}

export interface Results {
  schema: 1;
  runId: string;
  quick: boolean;
  profile: boolean;
  /** --set: settings given to every service (an experiment, not written as latest). */
  settings?: Record<string, string>;
  /** --ramp, --ramp-from: which ramp ran, from which rate (an experiment too). */
  rampPart?: { kind: string; from?: number };
  startedAt: string;
  machine: Machine;
  config: Config;
  logDir: string;
  nominal?: Outcome<NominalResult>;
  ramp?: Outcome<RampResult>;
  fanout?: Outcome<FanoutResult>;
  baselines?: Outcome<BaselinesResult>;
  storage?: Outcome<StorageResult>;
  profiles?: Record<string, ProfileSummary>;
  finishedAt?: string;
  targets?: Target[];
}

type Num = number | null | undefined;
interface Percentiles {
  p50?: Num;
  p95?: Num;
  p99?: Num;
  max?: Num;
  n?: Num;
}

/** The result of a scenario that did not fail. */
export function succeeded<T extends object>(outcome: Outcome<T> | undefined): T | undefined {
  return outcome && !('error' in outcome) ? outcome : undefined;
}

function failure(outcome: Outcome<object> | undefined): string | undefined {
  return outcome && 'error' in outcome ? outcome.error : undefined;
}

/** Numbers: integers as they are, others with `digits` decimals (two below 10, so a ratio or a small latency keeps its precision). */
const fmt = (v: unknown, digits?: number): string =>
  v === null || v === undefined
    ? '—'
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? String(v)
        : v.toFixed(digits ?? (Math.abs(v) < 10 ? 2 : 1))
      : String(v);
const pct = (s: Percentiles | null | undefined) => (s ? `${fmt(s.p50)} / ${fmt(s.p95)} / ${fmt(s.p99)} / ${fmt(s.max)}` : '—');
const table = (head: string[], rows: unknown[][]) =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map((c) => fmt(c)).join(' | ')} |`),
  ].join('\n');
/** JavaScript's own comparison of a figure that may be missing (null counts as 0, undefined never passes), as the targets have always been judged. */
const atMost = (v: Num, limit: number) => Number(v) <= limit;
const atLeast = (v: Num, limit: number) => Number(v) >= limit;

/** The stage with the largest p99 in the e2e split (feeder → api, pipeline, fan-out). */
function slowestStage(stages: Record<'toApi' | 'pipeline' | 'fanout', Percentiles | null> | null | undefined): string | undefined {
  if (!stages) return undefined;
  const names = {
    toApi: 'feeder → api (request and parse)',
    pipeline: 'api → view published (queue, calc-a, calc-b, agg-update)',
    fanout: 'publish → client (gateway)',
  };
  const [key, s] = (Object.entries(stages) as [keyof typeof names, Percentiles | null][]).sort(
    (a, b) => (b[1]?.p99 ?? 0) - (a[1]?.p99 ?? 0),
  )[0];
  return `${names[key]}: p99 ${fmt(s?.p99)} ms`;
}

function cpuHint(processes: Record<string, ProcessUsage> | null | undefined, names: string[]): string {
  return names
    .filter((n) => processes?.[n])
    .map((n) => `${n} ${fmt(processes?.[n].cpuPct, 0)} % CPU`)
    .join(', ');
}

/** Clients complete of all, and received ÷ published over all of them (without maxHz only). */
function coverageCell(coverage: FanoutResult['phases'][number]['coverage']): string {
  if (!coverage) return '—';
  if ('unchecked' in coverage) return `unchecked: ${coverage.unchecked}`;
  return `${coverage.complete} / ${coverage.clients} (${fmt(coverage.received / Math.max(1, coverage.expected), 4)})`;
}

/** Every target of the issue: goal, measured value, met or not, and what limits it when missed. */
export function judge(results: Results): Target[] {
  // A scenario that failed still lists its targets, unmeasured.
  const n = succeeded(results.nominal);
  const r = succeeded(results.ramp);
  const f = succeeded(results.fanout);
  const b = succeeded(results.baselines);
  const fan5000 = f?.phases?.find((p) => p.clients === 5000 && !p.maxHz);
  const targets: Target[] = [];
  const add = (name: string, goal: string, value: Num, met: boolean, limitedBy: string | undefined) =>
    targets.push({
      name,
      goal,
      value: value ?? null,
      met: value === null || value === undefined ? null : met,
      limitedBy: met ? undefined : limitedBy,
    });
  if (results.nominal) {
    add('nominal ack p99', '≤ 10 ms', n?.ackMs?.p99, atMost(n?.ackMs?.p99, 10), `ingest path (${cpuHint(n?.processes, ['api', 'redis'])})`);
    add('nominal ingest → browser p99', '≤ 100 ms', n?.e2eMs?.p99, atMost(n?.e2eMs?.p99, 100), slowestStage(n?.stagesMs));
    add('nominal ingest → Postgres p99', '≤ 2000 ms', n?.pgMs?.p99, atMost(n?.pgMs?.p99, 2000), 'flush interval and batch write');
    add('nominal lost', '0', n?.lost, n?.lost === 0, 'see nominal.runs[].check');
    add('nominal duplicated', '0', n?.duplicated, n?.duplicated === 0, 'see nominal.runs[].check');
  }
  if (results.ramp) {
    const firstBehind = (ramp: RampResult['single'] | undefined) =>
      `first behind above it: ${ramp?.limitedBy?.join(', ') || '—'} (${ramp?.stopReason})`;
    // --ramp=single|batch runs one of the two: the other has no row.
    if (!r || r.single) add('maxTps (single ticks, end to end)', '≥ 3000 /s', r?.maxTps, atLeast(r?.maxTps, 3000), firstBehind(r?.single));
    if (!r || r.batch)
      add('maxTpsBatch (batches of 100)', '≥ 20000 /s', r?.maxTpsBatch, atLeast(r?.maxTpsBatch, 20000), firstBehind(r?.batch));
  }
  if (fan5000) {
    add(
      'fanout 5000 SSE clients delivery p99',
      '≤ 250 ms',
      fan5000.deliveryMs?.p99,
      atMost(fan5000.deliveryMs?.p99, 250),
      `${cpuHint(fan5000.processes, ['gateway', 'clients'])}; machine ${fmt(fan5000.machine?.busyPct, 0)} % busy`,
    );
    const covered = fan5000.coverage && 'complete' in fan5000.coverage ? fan5000.coverage : undefined;
    add(
      'fanout 5000 SSE clients: clients that received every message',
      'all',
      covered ? covered.complete : null,
      !!covered && covered.complete === covered.clients,
      covered
        ? `received ÷ published ${fmt(covered.received / Math.max(1, covered.expected), 4)}, worst client ${fmt(covered.worst, 4)}; ` +
            `${covered.gone} gone, ${covered.silent} silent, ${covered.lagging} lagging, ${covered.resets} resets`
        : undefined,
    );
  }
  if (results.baselines) {
    const ingest = b?.rawIngest;
    /** Ours over the baseline's, on the same machine in the same run: at least `min` times. */
    const addRatio = (name: string, min: number, ratio: Num, limitedBy: string) =>
      add(name, `≥ ${min}×`, ratio, atLeast(ratio, min), limitedBy);
    addRatio(
      'ingest / rawIngest (req/s)',
      0.6,
      ingest?.ratio?.requestsPerS,
      `api CPU per request ${fmt(ingest?.ours?.cpuMsPerRequest, 3)} ms vs ${fmt(ingest?.baseline?.cpuMsPerRequest, 3)} ms`,
    );
    addRatio('gateway / socketio (msg per CPU-s)', 1.5, b?.socketio?.ratio?.messagesPerCpuS, 'per-client write cost in the gateway');
    addRatio('flusher / pgCopy (rows/s)', 0.5, b?.pgCopy?.ratio?.rowsPerS, 'flusher (read, parse, INSERT … unnest, ack)');
  }
  return targets;
}

function processTable(processes: Record<string, ProcessUsage> | null | undefined): string {
  if (!processes) return '';
  return table(
    ['process', 'CPU % (of one core)', 'RSS MB (peak)', 'event-loop lag p99 ms (beyond the 10 ms sampling)'],
    Object.entries(processes).map(([name, p]) => [name, p.cpuPct, p.rssMaxMB, p.loopLagP99Ms ?? '—']),
  );
}

function rampTable(ramp: NonNullable<RampResult['single']>): string {
  return table(
    [
      'offered /s',
      'accepted /s',
      'ack p50 / p95 / p99 ms',
      'ingest → view p99 ms',
      'ingest → PG p99 ms',
      'queue slope /s',
      'drain ms',
      'ingest',
      'consumers',
      'views',
      'postgres',
      'api / consumers / gateway / redis / pg / loadgen CPU %',
      'CPU ms per tick: api / consumers / gateway / redis / pg',
      'Redis commands per tick',
      'machine busy / foreign %',
    ],
    ramp.steps.map((s) => [
      s.rate,
      s.acceptedTps,
      `${fmt(s.ackMs?.p50)} / ${fmt(s.ackMs?.p95)} / ${fmt(s.ackMs?.p99)}`,
      s.viewMs?.p99,
      s.pgMs?.p99,
      s.queueSlopePerS,
      s.drainMs ?? 'not drained',
      s.keepsUp.ingest ? 'ok' : '**behind**',
      s.keepsUp.consumers ? 'ok' : '**behind**',
      s.keepsUp.views ? 'ok' : '**behind**',
      s.keepsUp.postgres ? 'ok' : '**behind**',
      ['api', 'consumers', 'gateway', 'redis', 'postgres', 'loadgen'].map((k) => fmt(s.processes?.[k]?.cpuPct, 0)).join(' / '),
      s.perTick ? ['api', 'consumers', 'gateway', 'redis', 'postgres'].map((k) => fmt(s.perTick?.cpuMs[k], 3)).join(' / ') : 'not drained',
      s.perTick ? fmt(s.perTick.redisCommands, 1) : '—',
      `${fmt(s.machine?.busyPct, 0)} / ${fmt(s.machine?.foreignCpuPct, 0)}`,
    ]),
  );
}

export function markdown(results: Results): string {
  const m = results.machine;
  const out: string[] = [];
  out.push(
    `# Benchmark ${results.runId}${results.quick ? ' (quick)' : ''}${results.profile ? ' (profiled: figures skewed by --cpu-prof)' : ''}`,
  );
  out.push('');
  out.push(
    `Machine: ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}, Redis ${m.redis}, PostgreSQL ${m.postgres}. ` +
      `Every service, the clients, the load generator, Redis and PostgreSQL share these cores. Latencies in ms, p50 / p95 / p99 / max.`,
  );
  if (results.rampPart)
    out.push(
      '',
      `Part of the ramp only (--ramp, --ramp-from): ${results.rampPart.kind}${results.rampPart.from ? `, from ${results.rampPart.from} ticks/s` : ''}.`,
    );
  if (results.settings && Object.keys(results.settings).length > 0)
    out.push(
      '',
      `Settings given to every service (--set): ${Object.entries(results.settings)
        .map(([name, value]) => `${name}=${value}`)
        .join(', ')}.`,
    );
  if (results.targets?.length) {
    out.push('', '## Targets', '');
    out.push(
      table(
        ['target', 'goal', 'measured', 'met', 'limited by'],
        results.targets.map((t) => [t.name, t.goal, t.value, t.met === null ? '—' : t.met ? 'yes' : '**no**', t.limitedBy ?? '']),
      ),
    );
  }
  const n = succeeded(results.nominal);
  if (n?.ackMs) {
    out.push('', `## nominal: ${n.tps} ticks/s, ${n.seconds} s, ${n.clients} EventSource clients (median of ${n.repeats})`, '');
    out.push(
      table(
        ['measure', 'p50 / p95 / p99 / max ms', 'samples'],
        [
          ['ack (feeder round trip)', pct(n.ackMs), n.ackMs.n],
          ['e2e: tick ts → view at the client', pct(n.e2eMs), n.e2eMs?.n],
          ['… feeder → api', pct(n.stagesMs?.toApi), n.stagesMs?.toApi?.n],
          ['… api → view published', pct(n.stagesMs?.pipeline), n.stagesMs?.pipeline?.n],
          ['… published → client', pct(n.stagesMs?.fanout), n.stagesMs?.fanout?.n],
          ['ingest (receivedAt) → client', pct(n.deliveryMs), n.deliveryMs?.n],
          ['ingest → row written in Postgres', pct(n.pgMs), n.pgMs?.n],
        ],
      ),
    );
    out.push(
      '',
      `Lost: ${n.lost}, duplicated: ${n.duplicated}. Machine ${fmt(n.machine?.busyPct, 0)} % busy, of which other work ${fmt(n.machine?.foreignCpuPct, 0)} % of a core.`,
      '',
      processTable(n.processes),
    );
  } else if (failure(results.nominal)) out.push('', `## nominal: failed: ${failure(results.nominal)}`);
  const r = succeeded(results.ramp);
  if (r?.single) out.push('', `## ramp: single ticks, maxTps = ${r.maxTps} (stopped: ${r.single.stopReason})`, '', rampTable(r.single));
  if (r?.batch) {
    out.push('', `## ramp: batches of 100, maxTpsBatch = ${r.maxTpsBatch} (stopped: ${r.batch.stopReason})`, '', rampTable(r.batch));
  } else if (failure(results.ramp)) out.push('', `## ramp: failed: ${failure(results.ramp)}`);
  const f = succeeded(results.fanout);
  if (f?.phases) {
    out.push('', `## fanout at ${f.tps} ticks/s`, '');
    out.push(
      table(
        [
          'SSE clients',
          'maxHz',
          'delivery p50 / p95 / p99 / max ms',
          'msg/s received',
          'per client /s',
          'clients complete (received ÷ published)',
          'gateway sent /s',
          'conflated /s',
          'gateway CPU %',
          'msg per gateway CPU-s',
          'gateway RSS MB',
          'gateway loop p99 ms',
          'clients CPU %',
          'machine busy / foreign %',
        ],
        f.phases.map((p) => [
          p.connected,
          p.maxHz ?? '—',
          pct(p.deliveryMs),
          p.messagesPerS,
          p.perClientPerS,
          coverageCell(p.coverage),
          p.gatewaySide?.sentPerS,
          p.gatewaySide?.conflatedPerS,
          p.server.cpuPct,
          p.server.messagesPerCpuS,
          p.server.rssMaxMB,
          p.server.loopLagP99Ms,
          p.processes?.clients?.cpuPct,
          `${fmt(p.machine?.busyPct, 0)} / ${fmt(p.machine?.foreignCpuPct, 0)}`,
        ]),
      ),
    );
  } else if (failure(results.fanout)) out.push('', `## fanout: failed: ${failure(results.fanout)}`);
  if (results.baselines) {
    const b = succeeded(results.baselines);
    out.push('', '## baselines (same run, same machine)', '');
    const rows: unknown[][] = [];
    const ingest = b?.rawIngest;
    if (ingest?.ours && ingest.baseline) {
      rows.push(['ingest req/s (closed loop)', ingest.ours.requestsPerS, ingest.baseline.requestsPerS, ingest.ratio.requestsPerS, '≥ 0.6']);
      rows.push(['… ack p99 ms', ingest.ours.ackMs?.p99, ingest.baseline.ackMs?.p99, '', '']);
      rows.push(['… CPU ms per request', fmt(ingest.ours.cpuMsPerRequest, 3), fmt(ingest.baseline.cpuMsPerRequest, 3), '', '']);
    }
    for (const c of b?.socketio?.comparisons ?? []) {
      rows.push([
        `fan-out msg per CPU-s, ${c.clients} clients`,
        c.ours.messagesPerCpuS,
        c.baseline.messagesPerCpuS,
        c.ratio.messagesPerCpuS,
        '≥ 1.5',
      ]);
      rows.push([`… delivery p99 ms, ${c.clients} clients`, c.ours.deliveryMs?.p99, c.baseline.deliveryMs?.p99, '', '']);
    }
    const copy = b?.pgCopy;
    if (copy?.ours)
      rows.push([
        'Postgres rows/s (buffer entries of 100 ticks)',
        copy.ours.rowsPerS,
        copy.baseline?.rowsPerS,
        copy.ratio.rowsPerS,
        '≥ 0.5',
      ]);
    if (copy?.oneTickEntries)
      rows.push([
        '… from entries of one tick',
        copy.oneTickEntries.rowsPerS,
        copy.baseline?.rowsPerS,
        ratio(copy.oneTickEntries.rowsPerS, copy.baseline?.rowsPerS),
        '',
      ]);
    out.push(table(['measure', 'ours', 'baseline', 'ratio', 'target'], rows));
    if (failure(results.baselines)) out.push('', `baselines failed: ${failure(results.baselines)}`);
  }
  if (results.profiles) {
    out.push('', '## CPU profiles: top self time per process and scenario', '');
    for (const [file, p] of Object.entries(results.profiles)) {
      out.push(`**${file}** (${fmt(p.seconds)} s sampled, ${fmt(p.idlePct)} % idle)`, '');
      out.push(
        table(
          ['self %', 'function', 'where'],
          p.top.slice(0, 12).map((t) => [t.selfPct, t.functionName, t.where]),
        ),
      );
      out.push(
        '',
        table(
          ['self %', 'package / area'],
          p.byPackage.slice(0, 8).map((t) => [t.selfPct, t.package]),
        ),
        '',
      );
    }
  }
  return `${out.join('\n')}\n`;
}
