import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ConsumersEnv } from '@md/config';
import { registerPipelineQueues } from '@md/pipeline';
import { redisOptionsFromUrl, RedisKeys } from '@md/redis';

/**
 * The queues the consumers read (ticks) and write and read (views), registered as the api
 * registers them (@md/pipeline's TICKS_QUEUE and VIEWS_QUEUE, names from env): calc-a injects
 * the views queue with `@InjectQueue(VIEWS_QUEUE)`. The worker of a @Processor consumes the
 * queue its Redis name designates and takes its connection and prefix from the forRoot below.
 * BullMQ creates (and closes) its connections from these options; workers wait for Redis
 * rather than fail fast (maxRetriesPerRequest: null, as BullMQ requires for blocking commands).
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
        registerPipelineQueues(ConsumersEnv),
      ],
      exports: [BullModule],
    };
  }
}
