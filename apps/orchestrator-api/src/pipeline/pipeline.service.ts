import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { PipelineStats, QueueCounts } from '@md/contracts';
import { TICKS_QUEUE, VIEWS_QUEUE } from '@md/pipeline';
import { FlushService } from '../flush/flush.service';

/** A snapshot of the pipeline's backlogs: both BullMQ queues and the flush buffer. Read-only. */
@Injectable()
export class PipelineService {
  constructor(
    @InjectQueue(TICKS_QUEUE) private readonly ticks: Queue,
    @InjectQueue(VIEWS_QUEUE) private readonly views: Queue,
    private readonly flush: FlushService,
  ) {}

  async stats(): Promise<PipelineStats> {
    const [ticks, views, flush] = await Promise.all([counts(this.ticks), counts(this.views), this.flush.bufferStats()]);
    return { queues: { [this.ticks.name]: ticks, [this.views.name]: views }, flush, at: Date.now() };
  }
}

async function counts(queue: Queue): Promise<QueueCounts> {
  // Prioritized jobs wait too (the pipeline adds none today; counted so none can hide).
  const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
  return { waiting: c.waiting + c.prioritized, active: c.active, delayed: c.delayed, failed: c.failed, completed: c.completed };
}
