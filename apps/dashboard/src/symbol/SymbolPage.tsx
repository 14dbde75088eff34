import { useState } from 'react';
import type { CandleInterval } from '@md/contracts';
import { useMarketRow, useTickFeed } from '../app/live';
import { Link } from '../app/router';
import { useCandles, useHistory, useView } from '../api/queries';
import { decimalsFor, formatChange, formatPercent, formatPrice } from '../market/format';
import { CandleChart } from './CandleChart';
import { TicksTable } from './TicksTable';
import { ViewDetails } from './ViewDetails';

/** The intervals the chart offers (of the api's, which also serves 1h and 1d). */
const INTERVALS: readonly CandleInterval[] = ['1s', '5s', '1m', '5m'];

/** One symbol: candles with interval switching (the open bar live), the view W in full, the recent ticks. */
export function SymbolPage({ symbol }: { symbol: string }) {
  const [interval, setCandleInterval] = useState<CandleInterval>('5s');
  const row = useMarketRow(symbol);
  const fetched = useView(symbol);
  const view = row?.view ?? fetched.data;
  const decimals = row?.decimals ?? decimalsFor(view?.price ?? 1);
  const candles = useCandles(symbol, interval);
  const history = useHistory(symbol);
  const ticks = useTickFeed(symbol);
  const change = view?.changePct1m ?? row?.changePct1m;

  return (
    <div className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/" className="text-sky-300 hover:underline">
          ← Market
        </Link>
      </nav>
      <header className="flex flex-wrap items-baseline gap-x-4 gap-y-1">
        <h2 className="text-2xl font-semibold">{symbol}</h2>
        <span className="text-2xl tabular-nums">{formatPrice(row?.price ?? view?.price, decimals)}</span>
        <span
          className={`tabular-nums ${change === undefined || change === 0 ? 'text-slate-300' : change > 0 ? 'text-emerald-400' : 'text-rose-400'}`}
        >
          {formatChange(view?.change1m, decimals)} ({formatPercent(change)}) 1m
        </span>
        {fetched.isError && !row && <span className="text-sm text-amber-300">No view of {symbol} yet.</span>}
      </header>

      <section aria-labelledby="chart-title" className="space-y-2">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <h3 id="chart-title" className="text-sm font-medium uppercase tracking-wide text-slate-400">
            Candles
          </h3>
          <div role="group" aria-label="Candle interval" className="inline-flex overflow-hidden rounded-md border border-slate-700">
            {INTERVALS.map((option) => (
              <button
                key={option}
                type="button"
                aria-pressed={option === interval}
                onClick={() => setCandleInterval(option)}
                className={`px-3 py-1 text-sm focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-sky-400 ${
                  option === interval ? 'bg-sky-600 text-white' : 'bg-slate-900 text-slate-300 hover:bg-slate-800'
                }`}
              >
                {option}
              </button>
            ))}
          </div>
        </div>
        {candles.isError && <p className="text-sm text-rose-300">Candles unavailable: {candles.error.message}</p>}
        <CandleChart
          symbol={symbol}
          interval={interval}
          bars={candles.data?.bars}
          fetchedAt={candles.data?.fetchedAt ?? 0}
          decimals={decimals}
          ticks={ticks}
        />
      </section>

      <div className="grid gap-4 xl:grid-cols-2">
        <section aria-labelledby="view-title" className="rounded-lg border border-slate-800 p-3">
          <h3 id="view-title" className="mb-2 text-sm font-medium uppercase tracking-wide text-slate-400">
            View W
          </h3>
          <ViewDetails view={view} decimals={decimals} />
        </section>
        <section aria-label="Recent ticks">
          <TicksTable
            ticks={history.data}
            decimals={decimals}
            error={history.isError ? `History unavailable: ${history.error.message}` : undefined}
          />
        </section>
      </div>
    </div>
  );
}
