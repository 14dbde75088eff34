import {
  CandlestickSeries,
  ColorType,
  createChart,
  HistogramSeries,
  type CandlestickData,
  type HistogramData,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useRef } from 'react';
import { CANDLE_INTERVALS, type Candle, type CandleInterval, type TickReceivedMessage } from '@md/contracts';
import type { LiveFeed } from '../stream/live-feed';
import { applyTick } from './candles';

const UP = '#34d399';
const DOWN = '#fb7185';

const time = (t: number) => Math.floor(t / 1000) as UTCTimestamp;
const candleOf = (bar: Candle): CandlestickData<UTCTimestamp> => ({
  time: time(bar.t),
  open: bar.open,
  high: bar.high,
  low: bar.low,
  close: bar.close,
});
const volumeOf = (bar: Candle): HistogramData<UTCTimestamp> => ({
  time: time(bar.t),
  value: bar.volume,
  color: bar.close >= bar.open ? 'rgba(52, 211, 153, 0.35)' : 'rgba(251, 113, 133, 0.35)',
});

interface Props {
  symbol: string;
  interval: CandleInterval;
  bars: Candle[] | undefined;
  /** When the bars' request left: live ticks the api received later are applied on top. */
  fetchedAt: number;
  decimals: number;
  /** The symbol's tick stream. */
  ticks: LiveFeed;
}

/**
 * Candlesticks (TradingView lightweight-charts) of GET /symbols/:id/candles, with the open bar
 * moved by the live ticks of this symbol between refetches. The chart is imperative: the data
 * goes in through setData/update, not through React renders. The number of bars drawn is on
 * the container's data-candles attribute (the end-to-end test reads it).
 */
export function CandleChart({ symbol, interval, bars, fetchedAt, decimals, ticks: feed }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const candles = useRef<ISeriesApi<'Candlestick'> | null>(null);
  const volumes = useRef<ISeriesApi<'Histogram'> | null>(null);
  const current = useRef<Candle[]>([]);
  const intervalMs = CANDLE_INTERVALS[interval];

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const created = createChart(element, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: '#020617' }, textColor: '#94a3b8', attributionLogo: true },
      grid: { vertLines: { color: '#1e293b' }, horzLines: { color: '#1e293b' } },
      rightPriceScale: { borderColor: '#334155' },
      timeScale: { borderColor: '#334155', timeVisible: true, secondsVisible: intervalMs < 60_000, barSpacing: 10, rightOffset: 3 },
      crosshair: { mode: 1 },
    });
    candles.current = created.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderVisible: false,
      wickUpColor: UP,
      wickDownColor: DOWN,
      priceFormat: { type: 'price', precision: decimals, minMove: 10 ** -decimals },
    });
    volumes.current = created.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceScaleId: '' });
    volumes.current.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    chart.current = created;
    return () => {
      created.remove();
      chart.current = null;
      candles.current = null;
      volumes.current = null;
    };
  }, [intervalMs, decimals]);

  // Fresh bars from the api: draw them all.
  useEffect(() => {
    if (!bars || !candles.current || !volumes.current) return;
    current.current = bars;
    candles.current.setData(bars.map(candleOf));
    volumes.current.setData(bars.map(volumeOf));
    if (container.current) container.current.dataset.candles = String(bars.length);
  }, [bars, intervalMs, decimals]);

  // Live ticks between refetches: move the open bar, or open the next.
  useEffect(
    () =>
      feed.onTicks((ticks: TickReceivedMessage[]) => {
        if (!candles.current || !volumes.current || !bars) return;
        for (const tick of ticks) {
          if (tick.symbol !== symbol || tick.receivedAt < fetchedAt) continue;
          const before = current.current;
          const after = applyTick(before, tick, intervalMs, Date.now());
          if (after === before) continue;
          current.current = after;
          const last = after[after.length - 1];
          candles.current.update(candleOf(last));
          volumes.current.update(volumeOf(last));
        }
        if (container.current) container.current.dataset.candles = String(current.current.length);
      }),
    [feed, symbol, bars, fetchedAt, intervalMs],
  );

  return (
    <div
      ref={container}
      data-testid="candle-chart"
      data-candles="0"
      role="img"
      aria-label={`${symbol} candlestick chart, ${interval} bars`}
      className="h-80 w-full overflow-hidden rounded-lg border border-slate-800 sm:h-96"
    />
  );
}
