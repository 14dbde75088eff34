import { Injectable } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';

/** The flusher's metrics, declared here (the module that owns them) and registered by FlushModule. */

export const FLUSH_ROWS = 'md_flush_rows_total';
export const FLUSH_FAILURES = 'md_flush_failures_total';
export const FLUSH_BATCH = 'md_flush_batch_size';
export const FLUSH_DURATION = 'md_flush_duration_seconds';
export const INGEST_TO_ROW = 'md_ingest_to_row_seconds';
export const BUFFER_DEPTH = 'md_flush_buffer_depth';
export const BUFFER_OLDEST = 'md_flush_buffer_oldest_age_seconds';

export const flushMetricProviders = [
  makeCounterProvider({
    name: FLUSH_ROWS,
    help: 'Buffered ticks flushed, by result: written (new rows), existing (already in md_ticks), dead_letter, expired (aged out past RETENTION_DAYS while buffered: not written)',
    labelNames: ['result'],
  }),
  makeCounterProvider({ name: FLUSH_FAILURES, help: 'Flushes that failed (Postgres or Redis unavailable); retried with backoff' }),
  makeHistogramProvider({ name: FLUSH_BATCH, help: 'Ticks per flushed batch', buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000] }),
  makeHistogramProvider({
    name: FLUSH_DURATION,
    help: 'One flush: read the batch, write it in one transaction, acknowledge it',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  }),
  makeHistogramProvider({
    name: INGEST_TO_ROW,
    help: "From a tick's arrival at the api (receivedAt) to the COMMIT of its row",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
  }),
  makeGaugeProvider({ name: BUFFER_DEPTH, help: 'Ticks in the Redis buffer, not yet acknowledged as written' }),
  makeGaugeProvider({ name: BUFFER_OLDEST, help: 'Age of the oldest tick in the Redis buffer (0 when empty)' }),
];

/** The flusher's seven metrics, injected as one: the loop, the buffer and the writer each take what they observe. */
@Injectable()
export class FlushMetrics {
  constructor(
    @InjectMetric(FLUSH_ROWS) readonly rows: Counter<string>,
    @InjectMetric(FLUSH_FAILURES) readonly failures: Counter<string>,
    @InjectMetric(FLUSH_BATCH) readonly batchSize: Histogram<string>,
    @InjectMetric(FLUSH_DURATION) readonly duration: Histogram<string>,
    @InjectMetric(INGEST_TO_ROW) readonly ingestToRow: Histogram<string>,
    @InjectMetric(BUFFER_DEPTH) readonly depth: Gauge<string>,
    @InjectMetric(BUFFER_OLDEST) readonly oldest: Gauge<string>,
  ) {}
}
