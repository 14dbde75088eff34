import { Controller, type DynamicModule, Get, HttpException, Inject, Module, type ModuleMetadata, Res, type Type } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheckService, type HealthCheckResult, type HealthIndicatorResult, TerminusModule } from '@nestjs/terminus';

/** A dependency check for readiness; it must settle within its own timeout. */
export interface ReadinessIndicator {
  check(): Promise<HealthIndicatorResult>;
}

const INDICATORS = Symbol('READINESS_INDICATORS');

/**
 * Liveness says only that the process answers (a stuck dependency must not get it killed);
 * readiness runs every registered indicator and answers 503 when any is down.
 */
@ApiExcludeController()
@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    @Inject(INDICATORS) private readonly indicators: ReadinessIndicator[],
  ) {}

  @Get('liveness')
  liveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 200 or 503, with Terminus's body either way (which dependency is down, and why). */
  @Get('readiness')
  async readiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check(this.indicators.map((indicator) => () => indicator.check()));
    } catch (error) {
      if (!(error instanceof HttpException)) throw error;
      void reply.status(error.getStatus());
      return error.getResponse() as HealthCheckResult;
    }
  }
}

export interface HealthOptions {
  imports?: ModuleMetadata['imports'];
  indicators: Type<ReadinessIndicator>[];
}

@Module({})
export class HealthModule {
  static register(options: HealthOptions): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), ...(options.imports ?? [])],
      controllers: [HealthController],
      providers: [
        ...options.indicators,
        { provide: INDICATORS, inject: options.indicators, useFactory: (...found: ReadinessIndicator[]) => found },
      ],
    };
  }
}
