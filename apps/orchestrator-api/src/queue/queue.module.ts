import { BullModule, InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { OrchestratorApiEnv } from '@md/config';
import { registerPipelineQueues, tickJobOptions, TICKS_QUEUE, VIEWS_QUEUE, type TickJobOptions } from '@md/pipeline';
import { REDIS, RedisKeys, type MdRedis } from '@md/redis';

/**
 * BullMQ re-emits connection errors on the queue; without a listener it prints them raw to
 * the console on every reconnect. They are logged here, at most every 5 s per queue; ingest
 * requests see the outage as their own command failures (503) and readiness reports it.
 */
@Injectable()
class QueueErrorLog implements OnModuleInit {
  private readonly logger = new Logger('queue');

  constructor(
    @InjectQueue(TICKS_QUEUE) private readonly ticks: Queue,
    @InjectQueue(VIEWS_QUEUE) private readonly views: Queue,
  ) {}

  onModuleInit(): void {
    for (const queue of [this.ticks, this.views]) {
      let last = 0;
      queue.on('error', (error: Error) => {
        if (Date.now() - last < 5_000) return;
        last = Date.now();
        this.logger.warn(`queue ${queue.name}: ${error.message}`);
      });
    }
  }
}

/**
 * BullMQ removes finished jobs past their age only when another job finishes in the same
 * state, so a lone failed job could outlive its dedupe marker and be replayed into a double
 * count. This removes them on time: every minute, the tick jobs finished longer ago than
 * tickJobOptions allows. Idempotent, so every replica may run it.
 */
@Injectable()
export class JobRetention implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private readonly options: TickJobOptions;

  constructor(
    @InjectQueue(TICKS_QUEUE) private readonly ticks: Queue,
    env: OrchestratorApiEnv,
  ) {
    this.options = tickJobOptions(env.DEDUPE_TTL_S);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.clean(), 60_000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One pass; a failure (Redis away) waits for the next. */
  async clean(): Promise<void> {
    await this.ticks.clean(this.options.removeOnFail.age * 1000, 1_000, 'failed').catch(() => undefined);
    await this.ticks.clean(this.options.removeOnComplete.age * 1000, 1_000, 'completed').catch(() => undefined);
  }
}

/**
 * The BullMQ queues of the api: the one the ingest path feeds (`QUEUE_NAME`, default
 * ticks.received) and calc-b's (`VIEW_QUEUE_NAME`, default views.compute), which the api
 * only reads for GET /pipeline and the queue admin UI (the api never adds to it). Both are
 * @md/pipeline's (TICKS_QUEUE, VIEWS_QUEUE) and share the api's fail-fast command connection,
 * so an enqueue can join the ingest MULTI (enqueueInMulti).
 */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [REDIS, RedisKeys],
      useFactory: (redis: MdRedis, keys: RedisKeys) => ({ connection: redis, prefix: keys.bullPrefix }),
    }),
    registerPipelineQueues(OrchestratorApiEnv),
  ],
  providers: [QueueErrorLog, JobRetention],
  exports: [BullModule],
})
export class QueueModule {}
