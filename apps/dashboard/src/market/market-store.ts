import type { SymbolSummary, SymbolView } from '@md/contracts';
import { directionOf, type Direction } from './flash';
import { decimalsFor } from './format';
import { Stale } from './staleness';

/** One row of the market grid. A new object whenever anything in it changes (React.memo relies on it). */
export interface MarketRow {
  symbol: string;
  /** The full view W, once the stream (or a snapshot) has delivered one. */
  view?: SymbolView;
  price: number;
  changePct1m: number;
  tickCount: number;
  /** Direction of the last price change, and how many changes so far (restarts the flash). */
  direction?: Direction;
  changes: number;
  /** When the last update arrived (browser clock); from the view's updatedAt for snapshot data. */
  updatedAt: number;
  /** Recent gaps between live updates, in ms (the staleness baseline). */
  gaps: number[];
  /** Recent prices, oldest first, for the sparkline. */
  prices: number[];
  decimals: number;
}

export interface ViewUpdate {
  view: SymbolView;
  arrivedAt: number;
}

const SPARK_POINTS = 60;

/**
 * The live state of the market grid, outside React: stream messages are applied here in
 * batches (one per animation frame) and React reads it through useSyncExternalStore, so a
 * burst of messages costs one render.
 */
export class MarketStore {
  private rows = new Map<string, MarketRow>();
  private sorted: MarketRow[] = [];
  private readonly listeners = new Set<() => void>();

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The rows sorted by symbol; the same array until something changes. */
  getRows = (): MarketRow[] => this.sorted;

  get(symbol: string): MarketRow | undefined {
    return this.rows.get(symbol);
  }

  /**
   * GET /symbols: fills in the symbols the stream has not delivered yet. Never overrides a
   * view (the stream's data is at least as new), and never removes a row.
   */
  seedSummaries(summaries: SymbolSummary[], now: number): void {
    let changed = false;
    for (const summary of summaries) {
      const row = this.rows.get(summary.symbol);
      if (row && row.tickCount >= summary.tickCount) continue;
      if (row?.view) continue;
      this.rows.set(summary.symbol, {
        symbol: summary.symbol,
        price: summary.price,
        changePct1m: summary.changePct1m,
        tickCount: summary.tickCount,
        changes: 0,
        updatedAt: Math.min(now, summary.updatedAt),
        gaps: [],
        prices: row?.prices ?? [summary.price],
        decimals: row?.decimals ?? decimalsFor(summary.price),
      });
      changed = true;
    }
    if (changed) this.commit();
  }

  /** A snapshot replaces the whole state: symbols it lacks are gone (after a reset, say). */
  replaceAll(views: SymbolView[], now: number): void {
    const next = new Map<string, MarketRow>();
    for (const view of views) {
      const previous = this.rows.get(view.symbol);
      next.set(view.symbol, {
        symbol: view.symbol,
        view,
        price: view.price,
        changePct1m: view.changePct1m,
        tickCount: view.tickCount,
        changes: previous?.changes ?? 0,
        updatedAt: Math.min(now, view.updatedAt),
        // Gaps measured before are still this symbol's rhythm; the prices restart from the view.
        gaps: previous?.gaps ?? [],
        prices: view.last10.length ? [...view.last10] : [view.price],
        decimals: previous?.decimals ?? decimalsFor(view.price),
      });
    }
    this.rows = next;
    this.commit();
  }

  /** Live views, in arrival order; an older version than the row's is ignored. */
  applyUpdates(updates: ViewUpdate[]): void {
    if (updates.length === 0) return;
    let changed = false;
    for (const { view, arrivedAt } of updates) {
      const row = this.rows.get(view.symbol);
      if (row && row.view && view.tickCount <= row.view.tickCount) continue;
      const direction = directionOf(row?.price, view.price);
      const gaps = row?.view ? [...row.gaps, Math.max(0, arrivedAt - row.updatedAt)].slice(-Stale.MAX_GAPS) : (row?.gaps ?? []);
      const prices = row ? [...row.prices, view.price].slice(-SPARK_POINTS) : view.last10.length ? [...view.last10] : [view.price];
      this.rows.set(view.symbol, {
        symbol: view.symbol,
        view,
        price: view.price,
        changePct1m: view.changePct1m,
        tickCount: view.tickCount,
        direction: direction ?? row?.direction,
        changes: (row?.changes ?? 0) + (direction ? 1 : 0),
        updatedAt: arrivedAt,
        gaps,
        prices,
        decimals: row?.decimals ?? decimalsFor(view.price),
      });
      changed = true;
    }
    if (changed) this.commit();
  }

  private commit(): void {
    this.sorted = [...this.rows.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    for (const listener of this.listeners) listener();
  }
}
