import { InjectQueue, OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Job, Queue } from 'bullmq';
import type { Counter, Histogram } from 'prom-client';
import type { WindowSummary } from '@md/market-calc';
import { JobName, VIEW_JOB_OPTIONS, VIEWS_QUEUE, type TickJob, type ViewJob } from '@md/pipeline';
import { JOB_DURATION, JOBS } from '../app/consumer.metrics';
import { CalcAService, NonFiniteTickError } from './calc-a.service';

/**
 * calc-a on the ticks queue: applies the tick to its symbol's windows and hands the summary
 * to calc-b. A redelivered tick (crash, stall, retry) changes no state, but its summary is
 * handed on again, so a view is never missing because a worker died between the two steps.
 * The @Processor decorator is applied in CalcAModule.register, with the queue name and
 * concurrency from the validated env.
 */
export class CalcAProcessor extends WorkerHost {
  private readonly logger = new Logger('calc-a');

  constructor(
    private readonly calcA: CalcAService,
    @InjectQueue(VIEWS_QUEUE) private readonly views: Queue<ViewJob<WindowSummary>>,
    @InjectMetric(JOBS) private readonly jobs: Counter<string>,
    @InjectMetric(JOB_DURATION) private readonly duration: Histogram<string>,
  ) {
    super();
  }

  async process(job: Job<TickJob>): Promise<{ fresh: boolean; tickCount: number }> {
    const stop = this.duration.startTimer({ processor: 'calc-a' });
    try {
      const { fresh, summary } = await this.calcA.apply(job.data, job.opts);
      await this.views.add(JobName.View, { summary, receivedAt: job.data.receivedAt, traceId: job.data.traceId }, VIEW_JOB_OPTIONS);
      this.jobs.inc({ processor: 'calc-a', outcome: fresh ? 'processed' : 'duplicate' });
      if (!fresh) this.logger.debug({ event_id: job.data.event_id }, 'tick counted before; summary handed on again');
      return { fresh, tickCount: summary.tickCount };
    } catch (error) {
      // 'refused': a tick that would make its symbol's sums non-finite (not retried).
      this.jobs.inc({ processor: 'calc-a', outcome: error instanceof NonFiniteTickError ? 'refused' : 'failed' });
      throw error;
    } finally {
      stop();
    }
  }

  /** A failed attempt (it is retried while attempts remain): logged, as the job's data allows. */
  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ job_id: job?.id, attempts: job?.attemptsMade, err: error.message }, 'calc-a job failed');
  }
}
