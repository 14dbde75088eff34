import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { CANDLE_INTERVALS, type CandleInterval } from '@md/contracts';

/** An optional integer query parameter `limit` of 1–5000 (documented, converted, validated). */
function QueryLimit(description: string, byDefault: number) {
  const message = 'limit must be an integer from 1 to 5000';
  return applyDecorators(
    ApiPropertyOptional({ description, minimum: 1, maximum: 5000, default: byDefault }),
    IsOptional(),
    Max(5000, { message }),
    Min(1, { message }),
    IsInt({ message }),
    Type(() => Number),
  );
}

/**
 * Where each interval is read from, which bounds what one request costs: a rollup of md_candles
 * (1m, 1h, 1d: `limit` rows; 5m: 5 × `limit` 1m rows), or the raw ticks of a span that
 * CANDLES_MAX_TICK_SPAN_S caps (1s, 5s).
 */
export const CANDLE_SOURCES: Record<CandleInterval, '1m' | '1h' | '1d' | 'ticks'> = {
  '1s': 'ticks',
  '5s': 'ticks',
  '1m': '1m',
  '5m': '1m',
  '1h': '1h',
  '1d': '1d',
};

export class HistoryQueryDto {
  @QueryLimit('Ticks to return, newest first', 100)
  limit: number = 100;
}

export class CandlesQueryDto {
  @ApiPropertyOptional({ enum: Object.keys(CANDLE_INTERVALS), default: '1m' })
  @IsOptional()
  @IsIn(Object.keys(CANDLE_INTERVALS), { message: `interval must be one of ${Object.keys(CANDLE_INTERVALS).join(', ')}` })
  interval: CandleInterval = '1m';

  @QueryLimit(
    'Bars to return (the newest ones), oldest first. With 1s and 5s also limit × interval ≤ CANDLES_MAX_TICK_SPAN_S (default 1800 s: at most 1800 bars of 1s, 360 of 5s); 400 naming limit beyond.',
    300,
  )
  limit: number = 300;
}
