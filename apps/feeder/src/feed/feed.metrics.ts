import { makeCounterProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';

export const FEED_TICKS = 'md_feeder_ticks_total';
export const FEED_RETRIES = 'md_feeder_retries_total';
export const FEED_ACK = 'md_feeder_ack_seconds';

export const feedMetricProviders = [
  makeCounterProvider({
    name: FEED_TICKS,
    help: 'Ticks by outcome: sent (generated and handed to the sender), accepted, duplicate, rejected (4xx other than 401 and 429), failed (gave up after MAX_RETRIES, 401s included)',
    labelNames: ['outcome'],
  }),
  makeCounterProvider({ name: FEED_RETRIES, help: 'Requests retried (network error, 401, 429 or 5xx)' }),
  makeHistogramProvider({
    name: FEED_ACK,
    help: 'Round trip of an ingest request that the api answered',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  }),
];
