import { InjectQueue, OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Job, Queue } from 'bullmq';
import type { Counter, Histogram } from 'prom-client';
import type { ReceivedTick } from '@md/contracts';
import {
  CountResult,
  JobName,
  positionsBySymbol,
  viewJobOptions,
  VIEWS_QUEUE,
  type TickChunkJob,
  type TickJob,
  type ViewJob,
} from '@md/pipeline';
import { CALC_A_TICKS, JOB_DURATION, JOBS } from '../app/consumer.metrics';
import { CalcAService } from './calc-a.service';

/** The ticks of a job: a chunk (`ticks`), or one tick as an api before chunks enqueued it (`tick`). */
function ticksOf(job: Job<TickChunkJob | TickJob>): ReceivedTick[] {
  return job.name === JobName.Ticks ? (job.data as TickChunkJob).ticks : [job.data as TickJob];
}

const OUTCOME_LABEL: Record<CountResult, string> = {
  [CountResult.Counted]: 'counted',
  [CountResult.CountedBefore]: 'duplicate',
  [CountResult.Refused]: 'refused',
};

/**
 * calc-a on the ticks queue: applies a chunk's ticks to their symbols' windows (one script call
 * per symbol, each atomic) and tells calc-b each symbol changed (a view job, one per symbol
 * waiting at most: calc-b reads the newest state when it runs). A redelivered chunk (crash,
 * stall, retry) changes no state, but the view jobs are added again, so a view is never missing
 * because a worker died between the two steps. The @Processor decorator is applied in CalcAModule.register, with the
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

  async process(job: Job<TickChunkJob | TickJob>): Promise<{ outcomes: string }> {
    const stop = this.duration.startTimer({ processor: 'calc-a' });
    try {
      const ticks = ticksOf(job);
      const outcomes: CountResult[] = new Array(ticks.length);
      // Each symbol's script call, then its view job; the symbols side by side. A failed one
      // fails the job once the others have settled (its error named after its symbol, the
      // original as its cause): the retry finds their ticks counted.
      const bySymbol = [...positionsBySymbol(ticks)];
      const settled = await Promise.allSettled(
        bySymbol.map(async ([symbol, members]) => {
          const own = members.map((k) => ticks[k]);
          const result = await this.calcA.apply(symbol, own, job.opts);
          members.forEach((k, i) => (outcomes[k] = result.outcomes[i]));
          // Counted as soon as the state changed: a retry after a failed hand-off reports them as duplicates.
          this.count(result.outcomes, own);
          if (result.summary) {
            const newest = own.reduce((a, t) => (t.receivedAt >= a.receivedAt ? t : a));
            await this.views.add(JobName.View, { symbol, receivedAt: newest.receivedAt, traceId: newest.traceId }, viewJobOptions(symbol));
          }
        }),
      );
      const failed = settled.flatMap((s, i) =>
        s.status === 'rejected' ? [new Error(`${bySymbol[i][0]}: ${(s.reason as Error).message}`, { cause: s.reason })] : [],
      );
      if (failed.length === 1) throw failed[0];
      if (failed.length > 1) throw new AggregateError(failed, failed.map((e) => e.message).join('; '));
      this.jobs.inc({ processor: 'calc-a', outcome: 'processed' });
      return { outcomes: outcomes.join('') };
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
