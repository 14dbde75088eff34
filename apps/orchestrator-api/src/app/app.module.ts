import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { EnvModule, type OrchestratorApiEnv } from '@md/config';
import { HealthModule, RedisIndicator } from '@md/health';
import { ObservabilityModule } from '@md/observability';
import { createValidationPipe, HttpErrorFilter } from '@md/platform';
import { RedisModule } from '@md/redis';
import { IngestModule } from '../ingest/ingest.module';
import { InternalModule } from '../internal/internal.module';
import { SymbolsModule } from '../symbols/symbols.module';
import { FlushIndicator } from '../flush/flush.indicator';
import { FlushModule } from '../flush/flush.module';
import { HistoryModule } from '../history/history.module';

export const SERVICE = 'orchestrator-api';

@Module({})
export class AppModule {
  /** The api for a validated env; main.ts and the tests are the only callers. */
  static forRoot(env: OrchestratorApiEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [
        EnvModule.forRoot(env),
        ObservabilityModule.forRoot({ service: SERVICE }),
        EventEmitterModule.forRoot(),
        RedisModule,
        FlushModule,
        HealthModule.register({ imports: [FlushModule], indicators: [RedisIndicator, FlushIndicator] }),
        IngestModule,
        SymbolsModule,
        HistoryModule,
        InternalModule,
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
