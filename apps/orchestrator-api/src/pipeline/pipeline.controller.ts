import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiServiceUnavailableResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { PipelineStats } from '@md/contracts';
import { ApiKeyGuard, KeyedThrottlerGuard, unavailableBecause } from '@md/platform';
import { ErrorBodyDto } from '../common/error-body.dto';
import { PipelineStatsDto } from './dto/pipeline-stats.dto';
import { PipelineService } from './pipeline.service';

@ApiTags('pipeline')
@ApiSecurity('apiKey')
@Controller('pipeline')
// The key first (a wrong one counts toward AUTH_FAILURES_PER_MIN), then READ_RATE_LIMIT_PER_MIN
// per verified key and client address (429 + Retry-After).
@UseGuards(ApiKeyGuard, KeyedThrottlerGuard)
export class PipelineController {
  constructor(private readonly pipeline: PipelineService) {}

  @Get()
  @ApiOperation({
    summary: 'Backlogs of the pipeline: job counts of both queues and the Redis → Postgres flush buffer',
    description: 'A snapshot from Redis. `flush.lastFlushAt` is that of the answering api process.',
  })
  @ApiOkResponse({ type: PipelineStatsDto })
  @ApiUnauthorizedResponse({ description: 'API_KEY is set and x-api-key is missing or wrong', type: ErrorBodyDto })
  @ApiServiceUnavailableResponse({ description: 'Redis unavailable', type: ErrorBodyDto })
  stats(): Promise<PipelineStats> {
    return this.pipeline.stats().catch((error: Error) => {
      throw unavailableBecause('pipeline stats', error);
    });
  }
}
