/**
 * The feeder's tick source: symbols in turn, prices from the PriceModel, a seeded choice of
 * source and a UUIDv7 event id. Everything but the id is a function of (options, nowMs sequence),
 * so a seeded run can be replayed; the id is random on purpose (it must be unique across runs).
 */
import { TickRules, type Tick } from '@md/contracts';
import { PriceModel } from './price-model';
import { SeededRandom } from './random';
import { uuidv7 } from './uuidv7';

export interface GeneratorOptions {
  symbols: string[];
  sources: string[];
  seed: number | string;
}

/** The time step of a symbol's first tick: it has no previous tick to measure from. */
const FIRST_STEP_MS = 1000;

export class TickGenerator {
  private readonly symbols: readonly string[];
  private readonly sources: readonly string[];
  private readonly model: PriceModel;
  private readonly sourceRandom: SeededRandom;
  private readonly lastTs = new Map<string, number>();
  private cursor = 0;

  /**
   * Symbols are upper-cased (a Tick carries the normalised symbol); an invalid or repeated
   * symbol, an invalid source or an empty list throws a RangeError.
   */
  constructor(options: GeneratorOptions) {
    const symbols = options.symbols.map((s) => s.toUpperCase());
    if (symbols.length === 0) throw new RangeError('TickGenerator needs at least one symbol');
    if (options.sources.length === 0) throw new RangeError('TickGenerator needs at least one source');
    for (const symbol of symbols) {
      if (!TickRules.symbolPattern.test(symbol)) throw new RangeError(`invalid symbol ${JSON.stringify(symbol)}`);
    }
    if (new Set(symbols).size !== symbols.length) throw new RangeError('symbols must be unique (case-insensitively)');
    for (const source of options.sources) {
      if (!TickRules.sourcePattern.test(source)) throw new RangeError(`invalid source ${JSON.stringify(source)}`);
    }
    this.symbols = symbols;
    this.sources = [...options.sources];
    this.model = new PriceModel(symbols, options.seed);
    this.sourceRandom = new SeededRandom(`${String(options.seed)}\u0000source`);
  }

  /**
   * The next tick at time nowMs (integer epoch ms, as Tick.ts must be): symbols in round-robin
   * order; source picked by the seeded PRNG; price/volume from PriceModel.step(symbol, time since
   * that symbol's previous tick — 1000 ms for its first, 0 if the clock went backwards);
   * ts = nowMs; event_id = uuidv7(nowMs).
   */
  next(nowMs: number): Tick {
    if (!Number.isSafeInteger(nowMs) || nowMs < 0) {
      throw new RangeError(`nowMs must be a non-negative integer epoch ms, got ${nowMs}`);
    }
    const symbol = this.symbols[this.cursor];
    this.cursor = (this.cursor + 1) % this.symbols.length;
    const previous = this.lastTs.get(symbol);
    const dtMs = previous === undefined ? FIRST_STEP_MS : Math.max(0, nowMs - previous);
    this.lastTs.set(symbol, nowMs);
    const { price, volume } = this.model.step(symbol, dtMs);
    return {
      symbol,
      price,
      volume,
      source: this.sources[this.sourceRandom.int(this.sources.length)],
      ts: nowMs,
      event_id: uuidv7(nowMs),
    };
  }
}
