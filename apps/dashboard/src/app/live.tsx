import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import { api } from '../api/client';
import { queryKeys, useSymbols } from '../api/queries';
import type { MarketRow } from '../market/market-store';
import { LiveFeed, type ConnectionStatus, type FeedOptions } from '../stream/live-feed';

interface Live {
  feed: LiveFeed;
  newFeed: (options: Partial<FeedOptions>) => LiveFeed;
}

const LiveContext = createContext<Live | null>(null);

/** View updates per symbol per second the market grid asks for. */
export const GRID_MAX_HZ = 5;

/**
 * The app's one market stream (symbol.updated for every symbol), started with the app. A
 * `reset` also reloads GET /symbols; the snapshot that follows it replaces the grid's state.
 * `feedOptions` lets tests drive a fake EventSource.
 */
export function LiveProvider({
  gatewayUrl,
  feedOptions,
  children,
}: {
  gatewayUrl: string;
  feedOptions?: Partial<FeedOptions>;
  children: ReactNode;
}) {
  const queryClient = useQueryClient();
  const [live] = useState<Live>(() => {
    const newFeed = (options: Partial<FeedOptions>) =>
      new LiveFeed({ streamUrl: `${gatewayUrl}/stream`, fetchToken: api.streamToken, ...options, ...feedOptions });
    // The grid: a person reads a few updates per symbol per second, so it asks the gateway to
    // conflate to GRID_MAX_HZ (the newest view always arrives; `skipped` counts the rest). The
    // symbol page's tick stream is never conflated: its chart needs every tick.
    const feed = newFeed({
      types: ['symbol.updated'],
      maxHz: GRID_MAX_HZ,
      onReset: () => void queryClient.invalidateQueries({ queryKey: queryKeys.symbols }),
    });
    return { feed, newFeed };
  });
  const { feed } = live;
  useEffect(() => {
    feed.start();
    return () => feed.stop();
  }, [feed]);
  const symbols = useSymbols();
  useEffect(() => {
    if (symbols.data) feed.market.seedSummaries(symbols.data, Date.now());
  }, [feed, symbols.data]);
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('outside LiveProvider');
  return live;
}

export function useLiveFeed(): LiveFeed {
  return useLive().feed;
}

export function useMarketRows(): MarketRow[] {
  const feed = useLiveFeed();
  return useSyncExternalStore(feed.market.subscribe, feed.market.getRows);
}

export function useMarketRow(symbol: string): MarketRow | undefined {
  const rows = useMarketRows();
  return rows.find((row) => row.symbol === symbol);
}

export function useConnection(): ConnectionStatus {
  const feed = useLiveFeed();
  return useSyncExternalStore(feed.status.subscribe, feed.status.get);
}

/** The current time, refreshed every `everyMs` (ages and the latency window tick with it). */
export function useNow(everyMs = 500): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** A stream of one symbol's ticks (the symbol page's chart), open while the page is. */
export function useTickFeed(symbol: string): LiveFeed {
  const { newFeed } = useLive();
  const feed = useMemo(() => newFeed({ symbols: [symbol], types: ['tick.received'] }), [newFeed, symbol]);
  useEffect(() => {
    feed.start();
    return () => feed.stop();
  }, [feed]);
  return feed;
}
