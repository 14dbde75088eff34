import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { EnvModule, type OrchestratorApiEnv } from '@md/config';
import { HealthModule, RedisIndicator } from '@md/health';
import { ObservabilityModule } from '@md/observability';
import { createValidationPipe, HttpErrorFilter, rateLimitModule } from '@md/platform';
import { RedisModule } from '@md/redis';
import { IngestModule } from '../ingest/ingest.module';
import { InternalModule } from '../internal/internal.module';
import { SymbolsModule } from '../symbols/symbols.module';
import { FlushIndicator } from '../flush/flush.indicator';
import { FlushModule } from '../flush/flush.module';
import { HistoryModule } from '../history/history.module';
import { PipelineModule } from '../pipeline/pipeline.module';

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
        rateLimitModule(env.READ_RATE_LIMIT_PER_MIN, env.AUTH_FAILURES_PER_MIN),
        FlushModule,
        HealthModule.register({ imports: [FlushModule], indicators: [RedisIndicator, FlushIndicator] }),
        IngestModule,
        SymbolsModule,
        HistoryModule,
        PipelineModule,
        InternalModule,
        // The queue admin UI exists only with a password: no credentials, no route. Loaded only
        // then: bull-board's Fastify adapter pulls an ESM-only package (Node's require(esm)).
        ...(env.ADMIN_PASSWORD ? [import('../admin/admin.module').then(({ AdminModule }) => ({ module: AdminModule }))] : []),
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
