import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard, KeyedThrottlerGuard } from '@md/platform';
import { ErrorBodyDto } from '../ingest/dto/ingest-ack.dto';
import { symbolOf } from '../symbols/symbol-param';
import { CandlesQueryDto, HistoryQueryDto } from './dto/history-query.dto';
import { CandleDto, TickRowDto } from './dto/history-rows.dto';
import { HistoryService } from './history.service';

/** History from Postgres (what the FlushModule has written; seconds behind ingest). */
@ApiTags('symbols')
@ApiSecurity('apiKey')
@ApiBadRequestResponse({ description: 'Bad id, limit or interval (the field is named)', type: ErrorBodyDto })
@ApiServiceUnavailableResponse({ description: 'Postgres unavailable', type: ErrorBodyDto })
@Controller('symbols')
// READ_RATE_LIMIT_PER_MIN per key or address (429 + Retry-After), then the key itself.
@UseGuards(KeyedThrottlerGuard, ApiKeyGuard)
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
    description: 'The newest bars up to `limit`; a bar still open (its end in the future) has final: false.',
  })
  @ApiParam({ name: 'id', example: 'BTCUSDT' })
  @ApiOkResponse({ type: [CandleDto] })
  candles(@Param('id') id: string, @Query() query: CandlesQueryDto): Promise<CandleDto[]> {
    return this.history.candles(symbolOf(id), query.interval, query.limit);
  }
}
