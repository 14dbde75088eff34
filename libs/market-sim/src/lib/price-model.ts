/**
 * The feeder's price model: an independent geometric Brownian motion per symbol, plus a
 * lognormal trade size. Pure and deterministic: the same symbols and seed give the same prices
 * and volumes for the same sequence of steps, whatever else runs in the process.
 *
 * Each symbol draws from its own SeededRandom (seeded by seed and symbol), so adding a symbol
 * to the feeder does not change the path of the others.
 */
import { instrumentFor, type Instrument } from './instruments';
import { SeededRandom } from './random';

const MS_PER_YEAR = 365.25 * 24 * 60 * 60 * 1000;
/** Dispersion of log trade size: about two thirds of trades within ×0.47 … ×2.1 of the median. */
const VOLUME_LOG_SD = 0.75;
/**
 * The walk is confined to [tickSize, tickSize·1e15]: a price stays finite and positive whatever
 * the volatility or step, and price/tickSize stays an integer a double represents exactly, so
 * rounding to the tick never produces float noise.
 */
const MAX_TICKS = 1e15;
// Math taken once into module scope: Jest runs modules in a vm context where every global
// lookup goes through an interceptor, which made the hot path ten times slower under test.
const { exp, log, max, min, round, sqrt } = Math;
const { isFinite: finite, MAX_SAFE_INTEGER } = Number;

interface SymbolState {
  readonly instrument: Instrument;
  readonly random: SeededRandom;
  readonly priceGrid: Grid;
  readonly lotGrid: Grid;
  readonly minLogPrice: number;
  readonly maxLogPrice: number;
  /** The unrounded log price: rounding happens on output only, so it cannot bias the walk. */
  logPrice: number;
}

export class PriceModel {
  private readonly states = new Map<string, SymbolState>();

  /**
   * @param instruments optional overrides by symbol (exact key), for scenarios the table does not
   * cover (a custom volatility, say); symbols without one use `instrumentFor`.
   */
  constructor(symbols: string[], seed: number | string, instruments: Readonly<Record<string, Instrument>> = {}) {
    for (const symbol of symbols) {
      if (this.states.has(symbol)) continue;
      const instrument = Object.hasOwn(instruments, symbol) ? instruments[symbol] : instrumentFor(symbol);
      checkInstrument(symbol, instrument);
      const minLogPrice = log(instrument.tickSize);
      const maxLogPrice = log(instrument.tickSize * MAX_TICKS);
      this.states.set(symbol, {
        instrument,
        random: new SeededRandom(`${String(seed)}\u0000price\u0000${symbol}`),
        priceGrid: gridOf(instrument.tickSize),
        lotGrid: gridOf(instrument.lotSize),
        minLogPrice,
        maxLogPrice,
        logPrice: clamp(log(instrument.basePrice), minLogPrice, maxLogPrice),
      });
    }
  }

  /**
   * Advance `symbol` by dtMs of time; returns the new price (rounded to tickSize, always
   * ≥ tickSize) and a volume (lognormal around meanVolume, rounded to lotSize, ≥ lotSize).
   */
  step(symbol: string, dtMs: number): { price: number; volume: number } {
    if (!finite(dtMs) || dtMs < 0) throw new RangeError(`dtMs must be finite and ≥ 0, got ${dtMs}`);
    const state = this.state(symbol);
    const { annualVol: sigma, meanVolume } = state.instrument;
    const dt = dtMs / MS_PER_YEAR;
    // GBM in log space: ln S ← ln S − σ²/2·dt + σ·√dt·Z (the −σ²/2 keeps E[S] constant: no drift).
    const logReturn = -0.5 * sigma * sigma * dt + sigma * sqrt(dt) * state.random.normal();
    state.logPrice = clamp(state.logPrice + logReturn, state.minLogPrice, state.maxLogPrice);
    // Lognormal with mean meanVolume: exp(s·Z − s²/2) has mean 1.
    const rawVolume = meanVolume * exp(VOLUME_LOG_SD * state.random.normal() - 0.5 * VOLUME_LOG_SD ** 2);
    return {
      price: roundToGrid(exp(state.logPrice), state.priceGrid),
      volume: roundToGrid(rawVolume, state.lotGrid),
    };
  }

  /** The current price of `symbol`, rounded to its tickSize. */
  price(symbol: string): number {
    const state = this.state(symbol);
    return roundToGrid(exp(state.logPrice), state.priceGrid);
  }

  private state(symbol: string): SymbolState {
    const state = this.states.get(symbol);
    if (!state) throw new RangeError(`symbol ${JSON.stringify(symbol)} is not in this PriceModel`);
    return state;
  }
}

function checkInstrument(symbol: string, i: Instrument): void {
  const positive = (v: number) => finite(v) && v > 0;
  if (!positive(i.basePrice) || !positive(i.tickSize) || !positive(i.lotSize) || !positive(i.meanVolume)) {
    throw new RangeError(`instrument ${symbol}: basePrice, tickSize, lotSize and meanVolume must be finite and > 0`);
  }
  if (!finite(i.tickSize * MAX_TICKS)) throw new RangeError(`instrument ${symbol}: tickSize is too large`);
  if (!finite(i.annualVol) || i.annualVol < 0) {
    throw new RangeError(`instrument ${symbol}: annualVol must be finite and ≥ 0`);
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return min(hi, max(lo, x));
}

/**
 * A step written as units / 10^decimals with integer units (0.01 → 1/10², 2.5e-7 → 25/10⁸,
 * 1000 → 1000/10⁰), so a multiple of it is an integer divided by a power of ten.
 */
interface Grid {
  readonly step: number;
  readonly units: number;
  readonly decimals: number;
  readonly scale: number;
}

function gridOf(step: number): Grid {
  const [mantissa, exponent] = step.toString().split('e');
  const decimals = min(100, max(0, (mantissa.split('.')[1]?.length ?? 0) - Number(exponent ?? 0)));
  const scale = 10 ** decimals;
  return { step, units: round(step * scale), decimals, scale };
}

/**
 * x rounded to a multiple of the step (at least one step), without float noise such as
 * 0.30000000000000004. k·units / 10^d is one correctly rounded division of two exact integers,
 * so it is the double nearest the decimal k·step — the same as Number((k·step).toFixed(d)),
 * which stays as the fallback where those integers would not be exact.
 */
function roundToGrid(x: number, grid: Grid): number {
  const steps = max(1, round(x / grid.step));
  const numerator = steps * grid.units;
  if (grid.decimals <= 22 && numerator <= MAX_SAFE_INTEGER) return numerator / grid.scale;
  return Number((steps * grid.step).toFixed(grid.decimals));
}
