import { useQuery } from '@tanstack/react-query';
import { CANDLE_INTERVALS, type CandleInterval } from '@md/contracts';
import { api } from './client';

/** The React Query hooks of the app: the initial and slow-moving state (the stream brings the rest). */
export const queryKeys = {
  config: ['config'] as const,
  status: ['status'] as const,
  symbols: ['symbols'] as const,
  view: (symbol: string) => ['view', symbol] as const,
  candles: (symbol: string, interval: CandleInterval) => ['candles', symbol, interval] as const,
  history: (symbol: string) => ['history', symbol] as const,
};

export const useConfig = () => useQuery({ queryKey: queryKeys.config, queryFn: ({ signal }) => api.config(signal), staleTime: Infinity });

export const useStatus = () =>
  useQuery({ queryKey: queryKeys.status, queryFn: ({ signal }) => api.status(signal), refetchInterval: 2_000 });

export const useSymbols = () => useQuery({ queryKey: queryKeys.symbols, queryFn: ({ signal }) => api.symbols(signal) });

export const useView = (symbol: string) =>
  useQuery({ queryKey: queryKeys.view(symbol), queryFn: ({ signal }) => api.view(symbol, signal), retry: false });

export const CANDLE_LIMIT = 300;

/**
 * Bars from Postgres (seconds behind ingest), refetched so the chart converges to what was
 * written; between refetches the open bar moves with the live ticks. `fetchedAt` is when the
 * request left: ticks received by the api after it are applied on top.
 */
export const useCandles = (symbol: string, interval: CandleInterval) =>
  useQuery({
    queryKey: queryKeys.candles(symbol, interval),
    queryFn: async ({ signal }) => {
      const fetchedAt = Date.now();
      return { bars: await api.candles(symbol, interval, CANDLE_LIMIT, signal), fetchedAt };
    },
    refetchInterval: CANDLE_INTERVALS[interval] < 60_000 ? 5_000 : 15_000,
  });

export const useHistory = (symbol: string) =>
  useQuery({ queryKey: queryKeys.history(symbol), queryFn: ({ signal }) => api.history(symbol, 50, signal), refetchInterval: 2_000 });
