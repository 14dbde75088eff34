import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';

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

export const CANDLE_INTERVALS = { '1s': 1_000, '5s': 5_000, '1m': 60_000, '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 } as const;
export type CandleInterval = keyof typeof CANDLE_INTERVALS;

export class HistoryQueryDto {
  @QueryLimit('Ticks to return, newest first', 100)
  limit: number = 100;
}

export class CandlesQueryDto {
  @ApiPropertyOptional({ enum: Object.keys(CANDLE_INTERVALS), default: '1m' })
  @IsOptional()
  @IsIn(Object.keys(CANDLE_INTERVALS), { message: `interval must be one of ${Object.keys(CANDLE_INTERVALS).join(', ')}` })
  interval: CandleInterval = '1m';

  @QueryLimit('Bars to return (the newest ones), oldest first', 300)
  limit: number = 300;
}
