/**
 * The targets of issue 9, judged against a run, and the run as a markdown report.
 */

/** Numbers: integers as they are, others with `digits` decimals (two below 10, so a ratio or a small latency keeps its precision). */
const fmt = (v, digits) =>
  v === null || v === undefined ? '—' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(digits ?? (Math.abs(v) < 10 ? 2 : 1))) : String(v);
const pct = (s) => (s ? `${fmt(s.p50)} / ${fmt(s.p95)} / ${fmt(s.p99)} / ${fmt(s.max)}` : '—');
const table = (head, rows) => [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map((c) => fmt(c)).join(' | ')} |`)].join('\n');

/** The stage with the largest p99 in the e2e split (feeder → api, pipeline, fan-out). */
function slowestStage(stages) {
  if (!stages) return undefined;
  const names = { toApi: 'feeder → api (request and parse)', pipeline: 'api → view published (queue, calc-a, calc-b, agg-update)', fanout: 'publish → client (gateway)' };
  const [key, s] = Object.entries(stages).sort((a, b) => (b[1]?.p99 ?? 0) - (a[1]?.p99 ?? 0))[0];
  return `${names[key]}: p99 ${fmt(s?.p99)} ms`;
}

function cpuHint(processes, names) {
  return names
    .filter((n) => processes?.[n])
    .map((n) => `${n} ${fmt(processes[n].cpuPct, 0)} % CPU`)
    .join(', ');
}

/** Every target of the issue: goal, measured value, met or not, and what limits it when missed. */
export function judge(results) {
  const n = results.nominal;
  const r = results.ramp;
  const f = results.fanout;
  const b = results.baselines;
  const fan5000 = f?.phases?.find((p) => p.clients === 5000 && !p.maxHz);
  const targets = [];
  const add = (name, goal, value, met, limitedBy) => targets.push({ name, goal, value: value ?? null, met: value === null || value === undefined ? null : met, limitedBy: met ? undefined : limitedBy });
  if (n) {
    add('nominal ack p99', '≤ 10 ms', n.ackMs?.p99, n.ackMs?.p99 <= 10, `ingest path (${cpuHint(n.processes, ['api', 'redis'])})`);
    add('nominal ingest → browser p99', '≤ 100 ms', n.e2eMs?.p99, n.e2eMs?.p99 <= 100, slowestStage(n.stagesMs));
    add('nominal ingest → Postgres p99', '≤ 2000 ms', n.pgMs?.p99, n.pgMs?.p99 <= 2000, 'flush interval and batch write');
    add('nominal lost', '0', n.lost, n.lost === 0, 'see nominal.runs[].check');
    add('nominal duplicated', '0', n.duplicated, n.duplicated === 0, 'see nominal.runs[].check');
  }
  if (r) {
    add('maxTps (single ticks, end to end)', '≥ 3000 /s', r.maxTps, r.maxTps >= 3000, `first behind above it: ${r.single?.limitedBy?.join(', ') || '—'} (${r.single?.stopReason})`);
    add('maxTpsBatch (batches of 100)', '≥ 20000 /s', r.maxTpsBatch, r.maxTpsBatch >= 20000, `first behind above it: ${r.batch?.limitedBy?.join(', ') || '—'} (${r.batch?.stopReason})`);
  }
  if (fan5000) {
    add(
      'fanout 5000 SSE clients delivery p99',
      '≤ 250 ms',
      fan5000.deliveryMs?.p99,
      fan5000.deliveryMs?.p99 <= 250,
      `${cpuHint(fan5000.processes, ['gateway', 'clients'])}; machine ${fmt(fan5000.machine?.busyPct, 0)} % busy`,
    );
  }
  if (b) {
    add('ingest / rawIngest (req/s)', '≥ 0.6×', b.rawIngest?.ratio?.requestsPerS, b.rawIngest?.ratio?.requestsPerS >= 0.6, `api CPU per request ${fmt(b.rawIngest?.ours?.cpuMsPerRequest, 3)} ms vs ${fmt(b.rawIngest?.baseline?.cpuMsPerRequest, 3)} ms`);
    add('gateway / socketio (msg per CPU-s)', '≥ 1.5×', b.socketio?.ratio?.messagesPerCpuS, b.socketio?.ratio?.messagesPerCpuS >= 1.5, 'per-client write cost in the gateway');
    add('flusher / pgCopy (rows/s)', '≥ 0.5×', b.pgCopy?.ratio?.rowsPerS, b.pgCopy?.ratio?.rowsPerS >= 0.5, 'flusher (read, parse, INSERT … unnest, ack)');
  }
  return targets;
}

function processTable(processes) {
  if (!processes) return '';
  return table(
    ['process', 'CPU % (of one core)', 'RSS MB (peak)', 'event-loop lag p99 ms (beyond the 10 ms sampling)'],
    Object.entries(processes).map(([name, p]) => [name, p.cpuPct, p.rssMaxMB, p.loopLagP99Ms ?? '—']),
  );
}

function rampTable(ramp) {
  return table(
    ['offered /s', 'accepted /s', 'ack p50 / p95 / p99 ms', 'ingest → view p99 ms', 'ingest → PG p99 ms', 'queue slope /s', 'drain ms', 'ingest', 'consumers', 'views', 'postgres', 'api / consumers / gateway / redis / pg / loadgen CPU %', 'machine busy / foreign %'],
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
      `${fmt(s.machine?.busyPct, 0)} / ${fmt(s.machine?.foreignCpuPct, 0)}`,
    ]),
  );
}

export function markdown(results) {
  const m = results.machine;
  const out = [];
  out.push(`# Benchmark ${results.runId}${results.quick ? ' (quick)' : ''}${results.profile ? ' (profiled: figures skewed by --cpu-prof)' : ''}`);
  out.push('');
  out.push(
    `Machine: ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}, Redis ${m.redis}, PostgreSQL ${m.postgres}. ` +
      `Every service, the clients, the load generator, Redis and PostgreSQL share these cores. Latencies in ms, p50 / p95 / p99 / max.`,
  );
  if (results.targets?.length) {
    out.push('', '## Targets', '');
    out.push(table(['target', 'goal', 'measured', 'met', 'limited by'], results.targets.map((t) => [t.name, t.goal, t.value, t.met === null ? '—' : t.met ? 'yes' : '**no**', t.limitedBy ?? ''])));
  }
  const n = results.nominal;
  if (n?.ackMs) {
    out.push('', `## nominal: ${n.tps} ticks/s, ${n.seconds} s, ${n.clients} EventSource clients (median of ${n.repeats})`, '');
    out.push(
      table(
        ['measure', 'p50 / p95 / p99 / max ms', 'samples'],
        [
          ['ack (feeder round trip)', pct(n.ackMs), n.ackMs.n],
          ['e2e: tick ts → view at the client', pct(n.e2eMs), n.e2eMs.n],
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
  } else if (n?.error) out.push('', `## nominal: failed: ${n.error}`);
  const r = results.ramp;
  if (r?.single) {
    out.push('', `## ramp: single ticks, maxTps = ${r.maxTps} (stopped: ${r.single.stopReason})`, '', rampTable(r.single));
    out.push('', `## ramp: batches of 100, maxTpsBatch = ${r.maxTpsBatch} (stopped: ${r.batch.stopReason})`, '', rampTable(r.batch));
  } else if (r?.error) out.push('', `## ramp: failed: ${r.error}`);
  const f = results.fanout;
  if (f?.phases) {
    out.push('', `## fanout at ${f.tps} ticks/s`, '');
    out.push(
      table(
        ['SSE clients', 'maxHz', 'delivery p50 / p95 / p99 / max ms', 'msg/s received', 'per client /s', 'gateway sent /s', 'conflated /s', 'gateway CPU %', 'msg per gateway CPU-s', 'gateway RSS MB', 'gateway loop p99 ms', 'clients CPU %', 'machine busy / foreign %'],
        f.phases.map((p) => [
          p.connected,
          p.maxHz ?? '—',
          pct(p.deliveryMs),
          p.messagesPerS,
          p.perClientPerS,
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
  } else if (f?.error) out.push('', `## fanout: failed: ${f.error}`);
  const b = results.baselines;
  if (b) {
    out.push('', '## baselines (same run, same machine)', '');
    const rows = [];
    if (b.rawIngest?.ours) {
      rows.push(['ingest req/s (closed loop)', b.rawIngest.ours.requestsPerS, b.rawIngest.baseline.requestsPerS, b.rawIngest.ratio.requestsPerS, '≥ 0.6']);
      rows.push(['… ack p99 ms', b.rawIngest.ours.ackMs?.p99, b.rawIngest.baseline.ackMs?.p99, '', '']);
      rows.push(['… CPU ms per request', fmt(b.rawIngest.ours.cpuMsPerRequest, 3), fmt(b.rawIngest.baseline.cpuMsPerRequest, 3), '', '']);
    }
    for (const c of b.socketio?.comparisons ?? []) {
      rows.push([`fan-out msg per CPU-s, ${c.clients} clients`, c.ours.messagesPerCpuS, c.baseline.messagesPerCpuS, c.ratio.messagesPerCpuS, '≥ 1.5']);
      rows.push([`… delivery p99 ms, ${c.clients} clients`, c.ours.deliveryMs?.p99, c.baseline.deliveryMs?.p99, '', '']);
    }
    if (b.pgCopy?.ours) rows.push(['Postgres rows/s', b.pgCopy.ours.rowsPerS, b.pgCopy.baseline.rowsPerS, b.pgCopy.ratio.rowsPerS, '≥ 0.5']);
    out.push(table(['measure', 'ours', 'baseline', 'ratio', 'target'], rows));
    if (b.error) out.push('', `baselines failed: ${b.error}`);
  }
  if (results.profiles) {
    out.push('', '## CPU profiles: top self time per process and scenario', '');
    for (const [file, p] of Object.entries(results.profiles)) {
      out.push(`**${file}** (${fmt(p.seconds)} s sampled, ${fmt(p.idlePct)} % idle)`, '');
      out.push(table(['self %', 'function', 'where'], p.top.slice(0, 12).map((t) => [t.selfPct, t.functionName, t.where])));
      out.push('', table(['self %', 'package / area'], p.byPackage.slice(0, 8).map((t) => [t.selfPct, t.package])), '');
    }
  }
  return `${out.join('\n')}\n`;
}
