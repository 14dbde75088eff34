import { memo } from 'react';
import { Link, symbolPath } from '../app/router';
import { flashClass } from './flash';
import { formatAge, formatChange, formatPercent, formatPrice, formatVolume } from './format';
import type { MarketRow } from './market-store';
import { Sparkline } from './Sparkline';
import { staleness, typicalInterval, type Staleness } from './staleness';

const STALE_CLASS: Record<Staleness, string> = {
  fresh: 'text-slate-400',
  amber: 'text-amber-300 font-semibold',
  red: 'text-rose-400 font-semibold',
};

const STALE_LABEL: Record<Staleness, string> = { fresh: '', amber: ' (late)', red: ' (stale)' };

/**
 * Columns, narrowest screens first: a phone shows symbol, price, % and age; change and trend
 * from 640 px, SMA10 and VWAP from 768 px, volume from 1024 px. Below md the table may still
 * scroll sideways inside its box, never the page.
 */
type Hide = 'sm' | 'md' | 'lg' | undefined;
const CELL: Record<NonNullable<Hide> | 'always', string> = {
  always: '',
  sm: 'hidden sm:table-cell',
  md: 'hidden md:table-cell',
  lg: 'hidden lg:table-cell',
};
const COLUMN: Record<NonNullable<Hide> | 'always', string> = {
  always: '',
  sm: 'hidden sm:table-column',
  md: 'hidden md:table-column',
  lg: 'hidden lg:table-column',
};
const COLUMNS: { label: string; width: string; align: 'text-left' | 'text-right'; hide?: Hide }[] = [
  { label: 'Symbol', width: 'w-24 sm:w-28', align: 'text-left' },
  { label: 'Price', width: 'w-28 sm:w-32', align: 'text-right' },
  { label: 'Chg 1m', width: 'w-28', align: 'text-right', hide: 'sm' },
  { label: '% 1m', width: 'w-20', align: 'text-right' },
  { label: 'SMA10', width: 'w-32', align: 'text-right', hide: 'md' },
  { label: 'VWAP 1m', width: 'w-32', align: 'text-right', hide: 'md' },
  { label: 'Vol 1m', width: 'w-28', align: 'text-right', hide: 'lg' },
  { label: 'Trend', width: 'w-28', align: 'text-left', hide: 'sm' },
  { label: 'Age', width: 'w-16 sm:w-20', align: 'text-right' },
];
const shown = (hide: Hide) => CELL[hide ?? 'always'];

const signClass = (value: number | undefined) =>
  value === undefined || value === 0 ? 'text-slate-300' : value > 0 ? 'text-emerald-400' : 'text-rose-400';

/**
 * One row per symbol. Every number is right-aligned in tabular figures with a fixed number of
 * decimals per symbol and every column has a fixed width (table-fixed), so prices changing
 * never move anything; the flash only animates the background.
 */
export function MarketGrid({ rows, now, loading }: { rows: MarketRow[]; now: number; loading?: boolean }) {
  return (
    <div className="relative overflow-x-auto rounded-lg border border-slate-800">
      <table
        className="w-full table-fixed sm:min-w-[40rem] md:min-w-[48rem] border-collapse text-sm tabular-nums"
        aria-describedby="grid-help"
      >
        <caption id="grid-help" className="sr-only">
          Live market: one row per symbol. Ages turn amber, then red, when a symbol updates much less often than usual. Select a symbol for
          its chart.
        </caption>
        <colgroup>
          {COLUMNS.map((column) => (
            <col key={column.label} className={`${column.width} ${COLUMN[column.hide ?? 'always']}`} />
          ))}
        </colgroup>
        <thead className="bg-slate-900 text-xs uppercase tracking-wide text-slate-400">
          <tr>
            {COLUMNS.map((column) => (
              <th key={column.label} scope="col" className={`px-3 py-2 font-medium ${column.align} ${shown(column.hide)}`}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={COLUMNS.length} className="px-3 py-6 text-center text-slate-400">
                {loading ? 'Loading symbols…' : 'No symbol has a view yet: waiting for ticks.'}
              </td>
            </tr>
          )}
          {rows.map((row) => (
            <GridRow key={row.symbol} row={row} now={now} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

const GridRow = memo(function GridRow({ row, now }: { row: MarketRow; now: number }) {
  const { view, decimals } = row;
  const age = Math.max(0, now - row.updatedAt);
  const stale = staleness(age, typicalInterval(row.gaps));
  return (
    <tr
      data-symbol={row.symbol}
      data-stale={stale}
      className="border-t border-slate-800 hover:bg-slate-900/60 focus-within:bg-slate-900/60"
    >
      <th scope="row" className="px-3 py-1.5 text-left font-semibold">
        <Link
          to={symbolPath(row.symbol)}
          className="rounded text-sky-300 hover:underline focus-visible:outline-2 focus-visible:outline-sky-400"
        >
          {row.symbol}
        </Link>
      </th>
      <td className="px-3 py-1.5 text-right">
        <span data-testid="price" className={`rounded px-1 ${flashClass(row.direction, row.changes)}`}>
          {formatPrice(row.price, decimals)}
        </span>
      </td>
      <td className={`px-3 py-1.5 text-right ${shown('sm')} ${signClass(view?.change1m)}`}>{formatChange(view?.change1m, decimals)}</td>
      <td className={`px-3 py-1.5 text-right ${signClass(row.changePct1m)}`}>{formatPercent(row.changePct1m)}</td>
      <td className={`px-3 py-1.5 text-right text-slate-300 ${shown('md')}`}>{formatPrice(view?.sma10, decimals)}</td>
      <td className={`px-3 py-1.5 text-right text-slate-300 ${shown('md')}`}>{formatPrice(view?.vwap1m, decimals)}</td>
      <td className={`px-3 py-1.5 text-right text-slate-300 ${shown('lg')}`}>{formatVolume(view?.volume1m)}</td>
      <td className={`px-3 py-1 ${shown('sm')}`}>
        <Sparkline prices={row.prices} label={`${row.symbol}: last ${row.prices.length} prices`} />
      </td>
      <td className={`px-3 py-1.5 text-right ${STALE_CLASS[stale]}`} data-testid="age">
        {formatAge(age)}
        <span className="sr-only">{STALE_LABEL[stale]}</span>
      </td>
    </tr>
  );
});
