import { getQueueToken } from '@nestjs/bullmq';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Queue } from 'bullmq';
import type { Gauge } from 'prom-client';

/** Metrics of the consumers, declared here, observed by the processors. */
export const JOBS = 'md_consumer_jobs_total';
export const CALC_A_TICKS = 'md_calc_a_ticks_total';
export const JOB_DURATION = 'md_consumer_job_duration_seconds';
export const TICK_TO_VIEW = 'md_tick_to_view_seconds';
export const QUEUE_JOBS = 'md_queue_jobs';
export const QUEUE_OLDEST_WAITING = 'md_queue_oldest_waiting_age_seconds';

export function consumerMetricProviders(queueNames: string[]) {
  const queueTokens = queueNames.map((name) => getQueueToken(name));
  return [
    makeCounterProvider({
      name: JOBS,
      help: 'Jobs handled, by processor and outcome (processed, failed); a calc-a job holds a chunk of up to 100 ticks of an ingest round',
      labelNames: ['processor', 'outcome'],
    }),
    makeCounterProvider({
      name: CALC_A_TICKS,
      help: 'Ticks calc-a handled, by outcome (counted, duplicate: counted before, refused: the window sums would not be finite)',
      labelNames: ['outcome'],
    }),
    makeHistogramProvider({
      name: JOB_DURATION,
      help: 'Time a processor spends on one job',
      labelNames: ['processor'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    }),
    makeHistogramProvider({
      name: TICK_TO_VIEW,
      help: "From the tick's arrival at the api (receivedAt) to the api's answer to its view (stored, or superseded by a newer one)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    makeGaugeProvider({
      name: QUEUE_JOBS,
      help: 'Jobs in each queue by state, read at scrape time',
      labelNames: ['queue', 'state'],
      inject: queueTokens,
      async collect(this: Gauge<string>, ...queues: Queue[]) {
        for (const queue of queues) {
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized').catch(() => undefined);
          for (const [state, n] of Object.entries(counts ?? {})) this.set({ queue: queue.name, state }, n);
        }
      },
    }),
    makeGaugeProvider({
      name: QUEUE_OLDEST_WAITING,
      help: 'Age of the oldest waiting job of each queue (0 when none waits), read at scrape time',
      labelNames: ['queue'],
      inject: queueTokens,
      async collect(this: Gauge<string>, ...queues: Queue[]) {
        for (const queue of queues) {
          // Ascending order explicitly: index 0 is then the oldest waiting job.
          const [oldest] = await queue.getJobs(['waiting'], 0, 0, true).catch(() => []);
          this.set({ queue: queue.name }, oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0);
        }
      },
    }),
  ];
}
