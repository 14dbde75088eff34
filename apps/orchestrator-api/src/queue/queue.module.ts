import { BullModule, InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { OrchestratorApiEnv } from '@md/config';
import { REDIS, RedisKeys, type MdRedis } from '@md/redis';
import { TICKS_QUEUE } from './ticks-queue';

/**
 * BullMQ re-emits connection errors on the queue; without a listener it prints them raw to
 * the console on every reconnect. They are logged here, at most every 5 s; ingest requests
 * see the outage as their own command failures (503) and readiness reports it.
 */
@Injectable()
class QueueErrorLog implements OnModuleInit {
  private readonly logger = new Logger('queue');
  private last = 0;

  constructor(@InjectQueue(TICKS_QUEUE) private readonly queue: Queue) {}

  onModuleInit(): void {
    this.queue.on('error', (error: Error) => {
      if (Date.now() - this.last < 5_000) return;
      this.last = Date.now();
      this.logger.warn(`queue ${this.queue.name}: ${error.message}`);
    });
  }
}

/**
 * The BullMQ queue the ingest path feeds (`QUEUE_NAME`, default ticks.received). It shares
 * the api's fail-fast command connection, so an enqueue can join the ingest MULTI.
 */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [REDIS, RedisKeys],
      useFactory: (redis: MdRedis, keys: RedisKeys) => ({ connection: redis, prefix: keys.bullPrefix }),
    }),
    BullModule.registerQueueAsync({
      name: TICKS_QUEUE,
      inject: [OrchestratorApiEnv],
      useFactory: (env: OrchestratorApiEnv) => ({ name: env.QUEUE_NAME }),
    }),
  ],
  providers: [QueueErrorLog],
  exports: [BullModule],
})
export class QueueModule {}
