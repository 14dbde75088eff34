import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { EnvModule, type FeederEnv } from '@md/config';
import { HealthModule } from '@md/health';
import { ObservabilityModule } from '@md/observability';
import { HttpErrorFilter } from '@md/platform';
import { FeedIndicator } from '../feed/feed.indicator';
import { FeedModule } from '../feed/feed.module';

export const SERVICE = 'feeder';

@Module({})
export class AppModule {
  static forRoot(env: FeederEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [
        EnvModule.forRoot(env),
        ObservabilityModule.forRoot({ service: SERVICE }),
        FeedModule,
        HealthModule.register({ imports: [FeedModule], indicators: [FeedIndicator] }),
      ],
      providers: [{ provide: APP_FILTER, useClass: HttpErrorFilter }],
    };
  }
}
