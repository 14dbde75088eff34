import type { SymbolView } from '@md/contracts';
import { formatChange, formatPercent, formatPrice, formatVolume } from '../market/format';

const stamp = new Intl.DateTimeFormat('en-GB', { dateStyle: 'short', timeStyle: 'medium', hour12: false });

/** The view W of a symbol, every field (doc/views.md says what each means). */
export function ViewDetails({ view, decimals }: { view: SymbolView | undefined; decimals: number }) {
  if (!view) return <p className="text-sm text-slate-400">No view of this symbol yet.</p>;
  const price = (value: number | null) => formatPrice(value, decimals);
  const fields: [string, string][] = [
    ['Price', price(view.price)],
    ['Tick time', stamp.format(view.ts)],
    ['Source', view.source],
    ['Event id', view.eventId],
    ['Ticks seen', view.tickCount.toLocaleString('en-US')],
    ['SMA10', price(view.sma10)],
    ['Last 10', view.last10.map(price).join('  ')],
    ['Volume 1m', formatVolume(view.volume1m)],
    ['VWAP 1m', price(view.vwap1m)],
    ['High 1m', price(view.high1m)],
    ['Low 1m', price(view.low1m)],
    ['Open 1m', price(view.open1m)],
    ['Change 1m', formatChange(view.change1m, decimals)],
    ['Change % 1m', formatPercent(view.changePct1m)],
    ['View made', stamp.format(view.updatedAt)],
  ];
  return (
    <dl className="grid grid-cols-[8rem_1fr] gap-x-3 gap-y-1 text-sm tabular-nums">
      {fields.map(([name, value]) => (
        <div key={name} className="contents">
          <dt className="text-slate-400">{name}</dt>
          <dd className="break-all text-slate-100">{value}</dd>
        </div>
      ))}
    </dl>
  );
}
