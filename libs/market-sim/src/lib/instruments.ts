/**
 * What the simulator knows about each market: a plausible price level, annualised volatility,
 * price and quantity increments and a typical trade size. Levels are mid-2024 ballparks — this
 * is a load generator, not a reference-data source.
 */
import { cyrb128 } from './hash';

export type InstrumentClass = 'crypto' | 'metal' | 'fx' | 'equity';

export interface Instrument {
  symbol: string;
  class: InstrumentClass;
  /** Starting price, in the quote currency. */
  basePrice: number;
  /** Annualised volatility of log returns (0.6 = 60 %). */
  annualVol: number;
  /** Smallest price increment; prices are multiples of it. */
  tickSize: number;
  /** Smallest quantity increment; volumes are multiples of it. */
  lotSize: number;
  /** Mean size of one trade, in units of the instrument. */
  meanVolume: number;
}

const instrument = (
  symbol: string,
  cls: InstrumentClass,
  basePrice: number,
  annualVol: number,
  tickSize: number,
  lotSize: number,
  meanVolume: number,
): Instrument => Object.freeze({ symbol, class: cls, basePrice, annualVol, tickSize, lotSize, meanVolume });

const TABLE: Instrument[] = [
  instrument('BTCUSDT', 'crypto', 65_000, 0.6, 0.01, 0.00001, 0.05),
  instrument('ETHUSDT', 'crypto', 3_400, 0.75, 0.01, 0.0001, 0.8),
  instrument('SOLUSDT', 'crypto', 150, 0.9, 0.01, 0.01, 20),
  instrument('XRPUSDT', 'crypto', 0.5, 0.8, 0.0001, 1, 2_000),
  instrument('XAUUSD', 'metal', 2_350, 0.15, 0.01, 0.01, 5),
  instrument('XAGUSD', 'metal', 28, 0.28, 0.001, 0.01, 50),
  instrument('EURUSD', 'fx', 1.08, 0.07, 0.00001, 1_000, 100_000),
  instrument('GBPUSD', 'fx', 1.27, 0.08, 0.00001, 1_000, 100_000),
  instrument('USDJPY', 'fx', 155, 0.09, 0.001, 1_000, 100_000),
  instrument('AAPL', 'equity', 190, 0.25, 0.01, 1, 100),
  instrument('MSFT', 'equity', 420, 0.25, 0.01, 1, 100),
  instrument('NVDA', 'equity', 120, 0.5, 0.01, 1, 200),
  instrument('TSLA', 'equity', 180, 0.55, 0.01, 1, 100),
  instrument('SPY', 'equity', 520, 0.15, 0.01, 1, 200),
];

/** The known instruments by upper-case symbol. Frozen: the table is shared by every model. */
export const INSTRUMENTS: Record<string, Instrument> = Object.freeze(Object.fromEntries(TABLE.map((i) => [i.symbol, i])));

/**
 * The instrument for `symbol`, looked up case-insensitively. An unknown symbol gets equity-like
 * defaults whose price level comes from a hash of the upper-cased symbol, so it is the same on
 * every run and every machine (and for 'abc' and 'ABC').
 */
export function instrumentFor(symbol: string): Instrument {
  const key = symbol.toUpperCase();
  // hasOwn, not `in` or a bare index: 'CONSTRUCTOR' must not find Object.prototype.constructor.
  if (Object.hasOwn(INSTRUMENTS, key)) return INSTRUMENTS[key];
  const [h] = cyrb128(key);
  // 49 000 cent steps: a base price in [10.00, 499.99].
  const basePrice = (1_000 + (h % 49_000)) / 100;
  return instrument(symbol, 'equity', basePrice, 0.3, 0.01, 1, 100);
}
