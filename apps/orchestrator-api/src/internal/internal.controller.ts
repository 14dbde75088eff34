import { Body, Controller, HttpCode, HttpStatus, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { AggUpdateResult } from '@md/contracts';
import { FieldsException, unavailableBecause } from '@md/platform';
import { REDIS, RealtimePublisher, RedisKeys, type MdRedis } from '@md/redis';
import { readAggUpdates } from './agg-updates';
import { InternalTokenGuard } from './internal-token.guard';

/**
 * POST /internal/agg-update: calc-b's views, one or an array of several symbols' (see
 * readAggUpdates). The api keeps a view only if it is newer (higher tickCount) than the stored
 * one and republishes it as `symbol.updated`; an array is answered with one result per view.
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
  async aggUpdate(@Body() body: unknown): Promise<AggUpdateResult | AggUpdateResult[]> {
    const { updates, many } = readAggUpdates(body);
    // A view's version is calc-a's count of the symbol's ticks: one claiming more would pin the
    // symbol (every real view after it answered `stored: false`). Counts only grow, so a view
    // that passes this check stays consistent with the state it was computed from.
    const counted = await Promise.all(updates.map((u) => this.redis.hget(this.keys.calc(u.symbol).state, 'count'))).catch(
      (error: Error) => {
        throw unavailableBecause('view store', error);
      },
    );
    const ahead = updates.flatMap((u, i) =>
      u.view.tickCount > Number(counted[i] ?? 0)
        ? [
            {
              field: many ? `[${i}].view.tickCount` : 'view.tickCount',
              reason: 'view.tickCount must not exceed the ticks counted for the symbol',
            },
          ]
        : [],
    );
    if (ahead.length > 0) throw new FieldsException(HttpStatus.UNPROCESSABLE_ENTITY, 'validation failed', ahead);
    const stored = await Promise.all(updates.map((u) => this.publisher.storeView(u.view, u.receivedAt))).catch((error: Error) => {
      throw unavailableBecause('view store', error);
    });
    const results = updates.map((u, i) => ({ symbol: u.symbol, tickCount: u.view.tickCount, stored: stored[i] }));
    return many ? results : results[0];
  }
}
