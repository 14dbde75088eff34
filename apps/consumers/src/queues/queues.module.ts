import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { ConsumersEnv } from '@md/config';
import { redisOptionsFromUrl, RedisKeys } from '@md/redis';
import { VIEWS_QUEUE } from './queues';

/**
 * The queues the consumers read (ticks) and write and read (views), registered under their
 * names from env (the worker of a @Processor consumes the queue its name designates), with
 * a fixed-token alias for the views queue, which calc-a injects. BullMQ creates (and closes) its connections from these
 * options; workers wait for Redis rather than fail fast (maxRetriesPerRequest: null, as
 * BullMQ requires for blocking commands).
 */
@Global()
@Module({})
export class QueuesModule {
  static register(env: ConsumersEnv): DynamicModule {
    return {
      module: QueuesModule,
      imports: [
        BullModule.forRootAsync({
          inject: [RedisKeys],
          useFactory: (keys: RedisKeys) => ({
            connection: { ...redisOptionsFromUrl(env.REDIS_URL), maxRetriesPerRequest: null, connectionName: 'md-bullmq' },
            prefix: keys.bullPrefix,
          }),
        }),
        BullModule.registerQueue({ name: env.QUEUE_NAME }, { name: env.VIEW_QUEUE_NAME }),
      ],
      providers: [
        { provide: VIEWS_QUEUE, useExisting: getQueueToken(env.VIEW_QUEUE_NAME) },
      ],
      exports: [BullModule, VIEWS_QUEUE],
    };
  }
}
