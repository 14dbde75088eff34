import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { EnvModule, type GatewayEnv } from '@md/config';
import { HealthModule, RedisIndicator } from '@md/health';
import { ObservabilityModule } from '@md/observability';
import { createValidationPipe, HttpErrorFilter, rateLimitModule } from '@md/platform';
import { RedisModule } from '@md/redis';
import { StreamModule } from '../stream/stream.module';
import { SubscriptionIndicator } from '../stream/subscription.indicator';

export const SERVICE = 'realtime-gateway';

@Module({})
export class AppModule {
  static forRoot(env: GatewayEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [
        EnvModule.forRoot(env),
        ObservabilityModule.forRoot({ service: SERVICE }),
        RedisModule,
        rateLimitModule(env.STREAM_RATE_LIMIT_PER_MIN, env.AUTH_FAILURES_PER_MIN),
        StreamModule,
        HealthModule.register({ imports: [StreamModule], indicators: [RedisIndicator, SubscriptionIndicator] }),
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
