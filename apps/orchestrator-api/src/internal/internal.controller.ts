import { Body, Controller, HttpCode, HttpStatus, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { FieldsException, unavailableBecause } from '@md/platform';
import { REDIS, RealtimePublisher, RedisKeys, type MdRedis } from '@md/redis';
import { AggUpdateDto } from './dto/agg-update.dto';
import { InternalTokenGuard } from './internal-token.guard';

/**
 * POST /internal/agg-update: calc-b's views. The api keeps a view only if it is newer
 * (higher tickCount) than the stored one and republishes it as `symbol.updated`.
 * Not part of the public API: served on the internal listener only (INTERNAL_PORT, see
 * app/internal-listener.ts) and excluded from Swagger.
 */
@ApiExcludeController()
@Controller('internal')
@UseGuards(InternalTokenGuard)
export class InternalController {
  constructor(
    private readonly publisher: RealtimePublisher,
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly keys: RedisKeys,
  ) {}

  @Post('agg-update')
  @HttpCode(HttpStatus.OK)
  async aggUpdate(@Body() update: AggUpdateDto): Promise<{ symbol: string; tickCount: number; stored: boolean }> {
    if (update.view.symbol !== update.symbol) {
      throw new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', [
        { field: 'view.symbol', reason: 'view.symbol must equal symbol' },
      ]);
    }
    // A view's version is calc-a's count of the symbol's ticks: one claiming more would pin the
    // symbol (every real view after it answered `stored: false`). Counts only grow, so a view
    // that passes this check stays consistent with the state it was computed from.
    const counted = await this.redis.hget(this.keys.calc(update.symbol).state, 'count').catch((error: Error) => {
      throw unavailableBecause('view store', error);
    });
    if (update.view.tickCount > Number(counted ?? 0)) {
      throw new FieldsException(HttpStatus.UNPROCESSABLE_ENTITY, 'validation failed', [
        { field: 'view.tickCount', reason: 'view.tickCount must not exceed the ticks counted for the symbol' },
      ]);
    }
    const stored = await this.publisher.storeView(update.view, update.receivedAt).catch((error: Error) => {
      throw unavailableBecause('view store', error);
    });
    return { symbol: update.symbol, tickCount: update.view.tickCount, stored };
  }
}
