import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ApiKeyGuard, KeyedThrottlerGuard } from '@md/platform';
import { ErrorBodyDto } from '../common/error-body.dto';
import { symbolOf } from '../symbols/symbol-param';
import { CandlesQueryDto, HistoryQueryDto } from './dto/history-query.dto';
import { CandleDto, TickRowDto } from './dto/history-rows.dto';
import { HistoryService } from './history.service';

/** History from Postgres (what the FlushModule has written; seconds behind ingest). */
@ApiTags('symbols')
@ApiSecurity('apiKey')
@ApiBadRequestResponse({ description: 'Bad id, limit or interval (the field is named)', type: ErrorBodyDto })
@ApiServiceUnavailableResponse({
  description:
    'Postgres unavailable, PG_READ_POOL_MAX reads already running, or the read cut at PG_READ_STATEMENT_TIMEOUT_MS; with Retry-After',
  type: ErrorBodyDto,
})
@Controller('symbols')
// The key first (a wrong one counts toward AUTH_FAILURES_PER_MIN), then READ_RATE_LIMIT_PER_MIN
// per verified key and client address (429 + Retry-After).
@UseGuards(ApiKeyGuard, KeyedThrottlerGuard)
export class HistoryController {
  constructor(private readonly history: HistoryService) {}

  @Get(':id/history')
  @ApiOperation({ summary: 'The newest ticks of a symbol, newest first (from Postgres)' })
  @ApiParam({ name: 'id', example: 'BTCUSDT' })
  @ApiOkResponse({ type: [TickRowDto] })
  ticks(@Param('id') id: string, @Query() query: HistoryQueryDto): Promise<TickRowDto[]> {
    return this.history.ticks(symbolOf(id), query.limit);
  }

  @Get(':id/candles')
  @ApiOperation({
    summary: 'OHLCV bars of a symbol, oldest first (from Postgres)',
    description:
      'The newest bars up to `limit`; a bar still open (its end in the future) has final: false, and is updated with every flush. ' +
      '1m, 1h and 1d bars are read from rollups the flusher keeps (`limit` rows), 5m from the 1m rollup (5 × `limit` rows), ' +
      '1s and 5s from the raw ticks, with limit × interval capped by CANDLES_MAX_TICK_SPAN_S (default 1800 s). ' +
      'At most PG_READ_POOL_MAX history and candle reads run at once (503 + Retry-After beyond), each cut at PG_READ_STATEMENT_TIMEOUT_MS (503).',
  })
  @ApiParam({ name: 'id', example: 'BTCUSDT' })
  @ApiOkResponse({ type: [CandleDto] })
  candles(@Param('id') id: string, @Query() query: CandlesQueryDto): Promise<CandleDto[]> {
    return this.history.candles(symbolOf(id), query.interval, query.limit);
  }
}
