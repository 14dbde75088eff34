import { InjectQueue, OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Job, Queue } from 'bullmq';
import type { Counter, Histogram } from 'prom-client';
import type { ReceivedTick } from '@md/contracts';
import { CountResult, JobName, viewJobOptions, VIEWS_QUEUE, type TickChunkJob, type TickJob, type ViewJob } from '@md/pipeline';
import { CALC_A_TICKS, JOB_DURATION, JOBS } from '../app/consumer.metrics';
import { CalcAService } from './calc-a.service';

/** The symbol and ticks of a job: a chunk (`ticks`), or one tick as an api before chunks enqueued it (`tick`). */
function chunkOf(job: Job<TickChunkJob | TickJob>): TickChunkJob {
  if (job.name === JobName.Ticks) return job.data as TickChunkJob;
  const tick = job.data as TickJob;
  return { symbol: tick.symbol, ticks: [tick] };
}

const OUTCOME_LABEL: Record<CountResult, string> = {
  [CountResult.Counted]: 'counted',
  [CountResult.CountedBefore]: 'duplicate',
  [CountResult.Refused]: 'refused',
};

/**
 * calc-a on the ticks queue: applies a chunk of one symbol's ticks to its windows (one script
 * call) and tells calc-b the symbol changed (a view job, one per symbol waiting at most: calc-b
 * reads the newest state when it runs). A redelivered chunk (crash, stall, retry) changes no
 * state, but the view job is added again, so a view is never missing because a worker died
 * between the two steps. The @Processor decorator is applied in CalcAModule.register, with the
 * queue name and concurrency from the validated env.
 */
export class CalcAProcessor extends WorkerHost {
  private readonly logger = new Logger('calc-a');

  constructor(
    private readonly calcA: CalcAService,
    @InjectQueue(VIEWS_QUEUE) private readonly views: Queue<ViewJob>,
    @InjectMetric(JOBS) private readonly jobs: Counter<string>,
    @InjectMetric(CALC_A_TICKS) private readonly ticks: Counter<string>,
    @InjectMetric(JOB_DURATION) private readonly duration: Histogram<string>,
  ) {
    super();
  }

  async process(job: Job<TickChunkJob | TickJob>): Promise<{ outcomes: string; tickCount: number | null }> {
    const stop = this.duration.startTimer({ processor: 'calc-a' });
    try {
      const { symbol, ticks } = chunkOf(job);
      const { outcomes, summary } = await this.calcA.apply(symbol, ticks, job.opts);
      // Counted as soon as the state changed: a retry after a failed hand-off reports them as duplicates.
      this.count(outcomes, ticks);
      if (summary) {
        const newest = ticks.reduce((a, t) => (t.receivedAt >= a.receivedAt ? t : a));
        await this.views.add(JobName.View, { symbol, receivedAt: newest.receivedAt, traceId: newest.traceId }, viewJobOptions(symbol));
      }
      this.jobs.inc({ processor: 'calc-a', outcome: 'processed' });
      return { outcomes: outcomes.join(''), tickCount: summary?.tickCount ?? null };
    } catch (error) {
      this.jobs.inc({ processor: 'calc-a', outcome: 'failed' });
      throw error;
    } finally {
      stop();
    }
  }

  private count(outcomes: CountResult[], ticks: ReceivedTick[]): void {
    const by = new Map<CountResult, number>();
    for (const outcome of outcomes) by.set(outcome, (by.get(outcome) ?? 0) + 1);
    for (const [outcome, n] of by) this.ticks.inc({ outcome: OUTCOME_LABEL[outcome] }, n);
    const refused = ticks.filter((_, k) => outcomes[k] === CountResult.Refused).map((t) => t.event_id);
    // Not retried: the same tick would be refused again. Ingest's bounds keep this unreachable through the api.
    if (refused.length > 0)
      this.logger.error({ event_ids: refused.slice(0, 20), count: refused.length }, 'ticks refused: the window sums would not be finite');
  }

  /** A failed attempt (it is retried while attempts remain): logged, as the job's data allows. */
  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ job_id: job?.id, attempts: job?.attemptsMade, err: error.message }, 'calc-a job failed');
  }
}
