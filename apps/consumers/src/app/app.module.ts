import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE, DiscoveryModule } from '@nestjs/core';
import { EnvModule, type ConsumersEnv } from '@md/config';
import { HealthModule, RedisIndicator } from '@md/health';
import { ObservabilityModule } from '@md/observability';
import { TICKS_QUEUE, VIEWS_QUEUE } from '@md/pipeline';
import { createValidationPipe, HttpErrorFilter } from '@md/platform';
import { RedisModule } from '@md/redis';
import { CalcAModule } from '../calc-a/calc-a.module';
import { CalcBModule } from '../calc-b/calc-b.module';
import { QueuesModule } from '../queues/queues.module';
import { consumerMetricProviders } from './consumer.metrics';
import { WorkersIndicator } from './workers.indicator';

export const SERVICE = 'consumers';

@Module({})
export class AppModule {
  /** The consumers for a validated env: the processors of CONSUMER_ROLES, health and metrics. */
  static forRoot(env: ConsumersEnv): DynamicModule {
    const metrics = consumerMetricProviders([TICKS_QUEUE, VIEWS_QUEUE]);
    return {
      module: AppModule,
      global: true,
      imports: [
        EnvModule.forRoot(env),
        ObservabilityModule.forRoot({ service: SERVICE }),
        RedisModule,
        QueuesModule.register(env),
        HealthModule.register({ imports: [DiscoveryModule], indicators: [RedisIndicator, WorkersIndicator] }),
        ...(env.CONSUMER_ROLES.includes('calc-a') ? [CalcAModule.register(env)] : []),
        ...(env.CONSUMER_ROLES.includes('calc-b') ? [CalcBModule.register(env)] : []),
      ],
      providers: [...metrics, { provide: APP_PIPE, useFactory: createValidationPipe }, { provide: APP_FILTER, useClass: HttpErrorFilter }],
      exports: metrics,
    };
  }
}
