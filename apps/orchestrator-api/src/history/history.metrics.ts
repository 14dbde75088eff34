import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';

export const READS_REFUSED = 'md_history_reads_refused_total';
export const READS_IN_FLIGHT = 'md_history_reads_in_flight';

export const historyMetricProviders = [
  makeCounterProvider({
    name: READS_REFUSED,
    help: 'History and candle reads answered 503, by reason: busy (PG_READ_POOL_MAX reads running), timeout (PG_READ_STATEMENT_TIMEOUT_MS), unavailable',
    labelNames: ['reason'],
  }),
  makeGaugeProvider({ name: READS_IN_FLIGHT, help: 'History and candle reads running (at most PG_READ_POOL_MAX)' }),
];
