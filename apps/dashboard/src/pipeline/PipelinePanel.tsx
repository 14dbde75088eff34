import type { DashboardPublicConfig, QueueCounts } from '@md/contracts';
import { useConnection, useLiveFeed } from '../app/live';
import { useStatus } from '../api/queries';
import { formatAge, formatMs } from '../market/format';
import type { ConnectionState } from '../stream/stream-client';

export const STATE_STYLE: Record<ConnectionState, { label: string; className: string; help: string }> = {
  connecting: { label: 'connecting', className: 'bg-slate-700 text-slate-100', help: 'Opening the stream' },
  connected: { label: 'connected', className: 'bg-emerald-700 text-emerald-50', help: 'Live' },
  reconnecting: { label: 'reconnecting', className: 'bg-amber-600 text-amber-50', help: 'The stream dropped; reconnecting' },
  resumed: { label: 'resumed', className: 'bg-sky-700 text-sky-50', help: 'Reconnected; the missed updates were replayed' },
  reset: {
    label: 'reset',
    className: 'bg-violet-700 text-violet-50',
    help: 'Reconnected too late to replay: state reloaded from a new snapshot',
  },
  closed: { label: 'closed', className: 'bg-slate-700 text-slate-100', help: 'Stream closed' },
};

/** The services the dashboard server probes (its /status), listed before the first answer too. */
const SERVICES = ['orchestrator-api', 'realtime-gateway', 'consumers', 'feeder'];

const count = (value: number | undefined) => (value === undefined ? '—' : value.toLocaleString('en-US'));

export function ConnectionBadge({ state }: { state: ConnectionState }) {
  const style = STATE_STYLE[state];
  return (
    <span
      data-testid="connection-state"
      data-state={state}
      title={style.help}
      className={`inline-block w-24 rounded-full py-0.5 text-center text-xs font-medium ${style.className}`}
    >
      {style.label}
    </span>
  );
}

/**
 * How the pipeline is doing, as seen from here: the stream's state, tick-to-screen latency
 * measured in this browser over the last minute, each service's readiness, and the api's
 * queue depths and flush lag (GET /status of the dashboard server, every 2 s).
 */
export function PipelinePanel({ config, now }: { config: DashboardPublicConfig | undefined; now: number }) {
  const connection = useConnection();
  const feed = useLiveFeed();
  const status = useStatus();
  const latency = feed.latency.summary(now);
  const pipeline = status.data?.pipeline;
  const serverNow = status.data?.at ?? now;
  // Two rows whether or not the stats are in: the panel keeps its layout when they arrive.
  const queues: [string, QueueCounts | undefined][] = pipeline
    ? Object.entries(pipeline.queues)
    : [
        ['', undefined],
        ['', undefined],
      ];

  return (
    <aside aria-labelledby="pipeline-title" className="space-y-4 rounded-lg border border-slate-800 bg-slate-900/40 p-4 text-sm">
      <h2 id="pipeline-title" className="text-sm font-semibold uppercase tracking-wide text-slate-300">
        Pipeline
      </h2>

      <section aria-label="Stream" className="space-y-1">
        <div className="flex items-center justify-between">
          <span className="text-slate-400">Stream</span>
          <ConnectionBadge state={connection.state} />
        </div>
        <p className="truncate text-xs text-slate-400" title={STATE_STYLE[connection.state].help}>
          {STATE_STYLE[connection.state].help} · since {formatAge(now - connection.since)}
        </p>
        <p className="text-xs text-slate-400">
          drops {connection.drops} · resets {connection.resets}
        </p>
        {connection.maxHz ? (
          <p
            className="text-xs text-slate-400"
            data-testid="conflation"
            title="The gateway sends the newest view of a symbol at most this often; the ones in between are skipped, never reordered."
          >
            conflated to {connection.maxHz}/s per symbol · {connection.skipped.toLocaleString('en-US')} skipped
          </p>
        ) : null}
      </section>

      <section aria-label="Tick to screen latency" className="space-y-1">
        <h3 className="text-slate-400">Tick → screen (last minute)</h3>
        <dl className="grid grid-cols-3 gap-2 tabular-nums">
          <Stat name="p50" value={formatMs(latency.p50)} testId="latency-p50" />
          <Stat name="p95" value={formatMs(latency.p95)} testId="latency-p95" />
          <Stat name="updates" value={latency.count.toLocaleString('en-US')} />
        </dl>
        <p className="text-xs text-slate-500">From the api's receipt of a tick to the frame showing its view, on this browser's clock.</p>
      </section>

      <section aria-label="Services" className="space-y-1">
        <h3 className="text-slate-400">Services</h3>
        {status.isError && <p className="text-rose-300">Status unavailable: {status.error.message}</p>}
        <ul className="space-y-0.5">
          {SERVICES.map((name) => {
            const service = status.data?.services.find((s) => s.name === name);
            const text = !service
              ? 'checking…'
              : service.ready
                ? `ready · ${service.latencyMs} ms`
                : `not ready · ${service.error ?? service.status}`;
            return (
              <li
                key={name}
                className="flex items-center justify-between gap-2"
                data-service={name}
                data-ready={service?.ready ?? 'unknown'}
              >
                <span className="truncate">{name}</span>
                <span
                  className={`w-36 shrink-0 truncate text-right tabular-nums ${!service ? 'text-slate-500' : service.ready ? 'text-emerald-400' : 'text-rose-400'}`}
                >
                  {text}
                </span>
              </li>
            );
          })}
        </ul>
      </section>

      <section aria-label="Queues and flush" className="space-y-1">
        <h3 className="text-slate-400">Queues</h3>
        <table className="w-full table-fixed tabular-nums">
          <thead className="text-xs text-slate-500">
            <tr>
              <th scope="col" className="w-2/5 text-left font-normal">
                queue
              </th>
              <th scope="col" className="text-right font-normal">
                waiting
              </th>
              <th scope="col" className="text-right font-normal">
                active
              </th>
              <th scope="col" className="text-right font-normal">
                failed
              </th>
            </tr>
          </thead>
          <tbody>
            {queues.map(([name, counts], i) => (
              <tr key={name || i}>
                <th scope="row" className="truncate text-left font-normal" title={name}>
                  {name || '—'}
                </th>
                <td className="text-right">{count(counts && counts.waiting + counts.delayed)}</td>
                <td className="text-right">{count(counts?.active)}</td>
                <td className={`text-right ${counts?.failed ? 'text-rose-400' : ''}`}>{count(counts?.failed)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <dl className="grid grid-cols-3 gap-2 pt-2 tabular-nums">
          <Stat name="buffered" value={count(pipeline?.flush.buffered)} />
          <Stat name="flush lag" value={pipeline ? formatAge(pipeline.flush.oldestBufferedAgeMs) : '—'} />
          <Stat name="last flush" value={pipeline?.flush.lastFlushAt ? `${formatAge(serverNow - pipeline.flush.lastFlushAt)} ago` : '—'} />
        </dl>
        <p className="h-4 truncate text-xs text-amber-300">
          {status.data && !pipeline ? (status.data.pipelineError ?? 'no pipeline stats') : ''}
        </p>
      </section>

      <section aria-label="Operations" className="space-y-1 border-t border-slate-800 pt-3">
        <h3 className="text-slate-400">Operations</h3>
        <ul className="space-y-1">
          <li>
            <a href={config?.queueAdminUrl} target="_blank" rel="noreferrer" className="text-sky-300 hover:underline">
              Queue admin (bull-board) ↗
            </a>
          </li>
          <li>
            <a href={config?.apiDocsUrl} target="_blank" rel="noreferrer" className="text-sky-300 hover:underline">
              API docs (Swagger UI) ↗
            </a>
          </li>
        </ul>
      </section>
    </aside>
  );
}

function Stat({ name, value, testId }: { name: string; value: string; testId?: string }) {
  return (
    <div className="rounded bg-slate-900 px-2 py-1">
      <dt className="text-xs text-slate-500">{name}</dt>
      <dd className="text-slate-100" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}
