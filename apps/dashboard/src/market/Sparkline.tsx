import { memo } from 'react';

const WIDTH = 96;
const HEIGHT = 24;

/** The recent prices of a symbol as a line; a fixed box, so it never moves the layout. */
export const Sparkline = memo(function Sparkline({ prices, label }: { prices: number[]; label: string }) {
  if (prices.length < 2) return <svg width={WIDTH} height={HEIGHT} aria-hidden="true" />;
  const low = Math.min(...prices);
  const high = Math.max(...prices);
  const span = high - low || 1;
  const step = WIDTH / (prices.length - 1);
  const points = prices
    .map((price, i) => `${(i * step).toFixed(1)},${(HEIGHT - 2 - ((price - low) / span) * (HEIGHT - 4)).toFixed(1)}`)
    .join(' ');
  const rising = prices[prices.length - 1] >= prices[0];
  return (
    <svg width={WIDTH} height={HEIGHT} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label} className="block">
      <polyline points={points} fill="none" strokeWidth="1.5" className={rising ? 'stroke-emerald-400' : 'stroke-rose-400'} />
    </svg>
  );
});
