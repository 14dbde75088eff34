import { Controller, Get, NotFoundException, Param, UseGuards } from '@nestjs/common';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { SymbolSummary, SymbolView } from '@md/contracts';
import { ApiKeyGuard, KeyedThrottlerGuard, unavailableBecause } from '@md/platform';
import { ErrorBodyDto } from '../common/error-body.dto';
import { SymbolSummaryDto } from './dto/symbol-summary.dto';
import { SymbolViewDto } from './dto/symbol-view.dto';
import { SymbolsService } from './symbols.service';
import { symbolOf } from './symbol-param';

const unavailable = (error: Error) => {
  throw unavailableBecause('views', error);
};

@ApiTags('symbols')
@ApiSecurity('apiKey')
@ApiUnauthorizedResponse({ description: 'API_KEY is set and x-api-key is missing or wrong', type: ErrorBodyDto })
@ApiServiceUnavailableResponse({ description: 'Redis unavailable', type: ErrorBodyDto })
@Controller('symbols')
// The key first (a wrong one counts toward AUTH_FAILURES_PER_MIN), then READ_RATE_LIMIT_PER_MIN
// per verified key and client address (429 + Retry-After).
@UseGuards(ApiKeyGuard, KeyedThrottlerGuard)
export class SymbolsController {
  constructor(private readonly symbols: SymbolsService) {}

  @Get()
  @ApiOperation({ summary: 'Symbols seen, with their latest price and 1-minute change', description: 'Sorted by symbol.' })
  @ApiOkResponse({ type: [SymbolSummaryDto] })
  list(): Promise<SymbolSummary[]> {
    return this.symbols.list().catch(unavailable);
  }

  @Get(':id')
  @ApiOperation({ summary: 'The latest view W of a symbol', description: 'The id is case-insensitive.' })
  @ApiParam({ name: 'id', example: 'BTCUSDT' })
  @ApiOkResponse({ type: SymbolViewDto })
  @ApiNotFoundResponse({ description: 'No view for this symbol yet', type: ErrorBodyDto })
  async get(@Param('id') id: string): Promise<SymbolView> {
    const symbol = symbolOf(id);
    const view = await this.symbols.get(symbol).catch(unavailable);
    if (!view) throw new NotFoundException(`no view for symbol ${symbol}`);
    return view;
  }
}
