import type { TickRow } from '@md/contracts';
import { formatMs, formatPrice, formatVolume } from '../market/format';

const time = new Intl.DateTimeFormat('en-GB', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
  hour12: false,
});

/** The newest ticks written to Postgres (GET /symbols/:id/history), newest first. */
export function TicksTable({ ticks, decimals, error }: { ticks: TickRow[] | undefined; decimals: number; error?: string }) {
  return (
    <div className="relative overflow-x-auto rounded-lg border border-slate-800">
      <table className="w-full min-w-[32rem] table-fixed text-sm tabular-nums">
        <caption className="bg-slate-900 px-3 py-2 text-left text-xs uppercase tracking-wide text-slate-400">
          Recent ticks <span className="normal-case text-slate-500">(from Postgres, about a second behind)</span>
        </caption>
        <thead className="text-xs text-slate-400">
          <tr>
            <th scope="col" className="px-3 py-1.5 text-left font-medium">
              Time
            </th>
            <th scope="col" className="px-3 py-1.5 text-right font-medium">
              Price
            </th>
            <th scope="col" className="px-3 py-1.5 text-right font-medium">
              Volume
            </th>
            <th scope="col" className="px-3 py-1.5 text-left font-medium">
              Source
            </th>
            <th scope="col" className="px-3 py-1.5 text-right font-medium" title="From the tick's own time to the api's receipt">
              Ingest lag
            </th>
          </tr>
        </thead>
        <tbody>
          {error && (
            <tr>
              <td colSpan={5} className="px-3 py-3 text-rose-300">
                {error}
              </td>
            </tr>
          )}
          {!error && ticks?.length === 0 && (
            <tr>
              <td colSpan={5} className="px-3 py-3 text-slate-400">
                No ticks written yet.
              </td>
            </tr>
          )}
          {ticks?.map((tick) => (
            <tr key={tick.event_id} className="border-t border-slate-800/70">
              <td className="px-3 py-1">{time.format(tick.ts)}</td>
              <td className="px-3 py-1 text-right">{formatPrice(tick.price, decimals)}</td>
              <td className="px-3 py-1 text-right">{formatVolume(tick.volume)}</td>
              <td className="truncate px-3 py-1 text-slate-300">{tick.source}</td>
              <td className="px-3 py-1 text-right text-slate-400">{formatMs(tick.received_at - tick.ts)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
