import { Body, Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { AggUpdateResult } from '@md/contracts';
import { FieldsException, unavailableBecause } from '@md/platform';
import { RealtimePublisher } from '@md/redis';
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
  constructor(private readonly publisher: RealtimePublisher) {}

  @Post('agg-update')
  @HttpCode(HttpStatus.OK)
  async aggUpdate(@Body() body: unknown): Promise<AggUpdateResult | AggUpdateResult[]> {
    const { updates, many } = readAggUpdates(body);
    // A view's version is calc-a's count of the symbol's ticks: one claiming more would pin the
    // symbol (every real view after it answered `stored: false`). Counts only grow, so a view
    // that passes this check stays consistent with the state it was computed from. Checked,
    // stored and published in one script call, so a refused post changes nothing.
    const outcome = await this.publisher.storeViews(updates).catch((error: Error) => {
      throw unavailableBecause('view store', error);
    });
    if ('ahead' in outcome) {
      throw new FieldsException(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'validation failed',
        outcome.ahead.map((i) => ({
          field: many ? `[${i}].view.tickCount` : 'view.tickCount',
          reason: 'view.tickCount must not exceed the ticks counted for the symbol',
        })),
      );
    }
    const { stored } = outcome;
    const results = updates.map((u, i) => ({ symbol: u.symbol, tickCount: u.view.tickCount, stored: stored[i] }));
    return many ? results : results[0];
  }
}
