import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Job } from 'bullmq';
import type { Counter, Histogram } from 'prom-client';
import { buildView, type WindowSummary } from '@md/market-calc';
import type { ViewJob } from '@md/pipeline';
import { JOB_DURATION, JOBS, TICK_TO_VIEW } from '../app/consumer.metrics';
import { SummaryReader } from '../app/summary';
import { ViewPoster } from './calc-b.service';

/** A view job as calc-a enqueued it before view jobs named only the symbol: it carried the summary. */
interface SummaryViewJob {
  summary: WindowSummary;
  receivedAt?: number;
}

/**
 * calc-b on the views queue: builds the view W of a symbol from its newest summary and posts
 * it to the api. The queue holds at most one waiting job per symbol (viewJobOptions), and the
 * job reads the state when it runs, so under load intermediate views are skipped, never
 * stale: each view posted is exactly the reference view of its tickCount. A failed post is
 * retried by BullMQ (attempts with backoff); a retry only re-posts a view, it never touches
 * calc-a's state, so nothing is counted twice. The @Processor decorator is applied in
 * CalcBModule.register.
 */
export class CalcBProcessor extends WorkerHost {
  private readonly logger = new Logger('calc-b');
  constructor(
    private readonly summaries: SummaryReader,
    private readonly poster: ViewPoster,
    @InjectMetric(JOBS) private readonly jobs: Counter<string>,
    @InjectMetric(JOB_DURATION) private readonly duration: Histogram<string>,
    @InjectMetric(TICK_TO_VIEW) private readonly tickToView: Histogram<string>,
  ) {
    super();
  }

  async process(job: Job<ViewJob | SummaryViewJob>): Promise<{ stored: boolean; tickCount: number } | null> {
    const stop = this.duration.startTimer({ processor: 'calc-b' });
    try {
      const summary = 'summary' in job.data ? job.data.summary : await this.summaries.read(job.data.symbol);
      if (!summary) {
        // Nothing counted for the symbol (its ticks were refused): no view to post.
        this.jobs.inc({ processor: 'calc-b', outcome: 'processed' });
        return null;
      }
      const view = buildView(summary, Date.now());
      const { stored } = await this.poster.post(view, job.data.receivedAt);
      if (job.data.receivedAt) this.tickToView.observe((Date.now() - job.data.receivedAt) / 1000);
      this.jobs.inc({ processor: 'calc-b', outcome: 'processed' });
      return { stored, tickCount: view.tickCount };
    } catch (error) {
      this.jobs.inc({ processor: 'calc-b', outcome: 'failed' });
      throw error;
    } finally {
      stop();
    }
  }

  /** A failed attempt (it is retried while attempts remain): logged, as the job's data allows. */
  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ job_id: job?.id, attempts: job?.attemptsMade, err: error.message }, 'calc-b job failed');
  }
}
