import { Body, Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { FieldsException, UnavailableException } from '@md/platform';
import { RealtimePublisher } from '@md/redis';
import { AggUpdateDto } from './dto/agg-update.dto';
import { InternalTokenGuard } from './internal-token.guard';

/**
 * POST /internal/agg-update: calc-b's views. The api keeps a view only if it is newer
 * (higher tickCount) than the stored one and republishes it as `symbol.updated`.
 * Not part of the public API (excluded from Swagger).
 */
@ApiExcludeController()
@Controller('internal')
@UseGuards(InternalTokenGuard)
export class InternalController {
  constructor(private readonly publisher: RealtimePublisher) {}

  @Post('agg-update')
  @HttpCode(HttpStatus.OK)
  async aggUpdate(@Body() update: AggUpdateDto): Promise<{ symbol: string; tickCount: number; stored: boolean }> {
    if (update.view.symbol !== update.symbol) {
      throw new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', [
        { field: 'view.symbol', reason: 'view.symbol must equal symbol' },
      ]);
    }
    const stored = await this.publisher.storeView(update.view, update.receivedAt).catch((error: Error) => {
      throw new UnavailableException(`view not stored: ${error.message}`);
    });
    return { symbol: update.symbol, tickCount: update.view.tickCount, stored };
  }
}
