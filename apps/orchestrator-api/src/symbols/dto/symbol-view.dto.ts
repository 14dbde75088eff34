import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsNumber, IsPositive, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';
import { LAST_N, TickRules, type SymbolView } from '@md/contracts';

const FINITE = { allowNaN: false, allowInfinity: false } as const;

/**
 * The view W: what GET /symbols/:id answers, and what calc-b posts to /internal/agg-update
 * (validated there). See SymbolView in the contracts lib for the definition of each field.
 */
export class SymbolViewDto implements SymbolView {
  @Transform(({ value }) => (typeof value === 'string' ? value.toUpperCase() : value))
  @Matches(TickRules.symbolPattern, { message: 'symbol must be a valid symbol' })
  @IsString()
  @ApiProperty({ description: 'Symbol, upper-case' })
  symbol: string;

  @IsPositive()
  @IsNumber(FINITE)
  @ApiProperty({ description: 'Price of the newest tick (greatest (ts, event_id))' })
  price: number;

  @IsInt()
  @ApiProperty({ description: 'Event time of the newest tick, epoch ms' })
  ts: number;

  @IsString()
  @ApiProperty({ description: 'Source of the newest tick' })
  source: string;

  @IsString()
  @ApiProperty({ description: 'event_id of the newest tick' })
  eventId: string;

  // The api also refuses a tickCount above what calc-a has counted (InternalController).
  @Max(Number.MAX_SAFE_INTEGER)
  @Min(1)
  @IsInt()
  @ApiProperty({ description: 'Unique ticks seen for the symbol; grows by one per unique tick, so it is the view version' })
  tickCount: number;

  @ArrayMaxSize(LAST_N)
  @IsNumber(FINITE, { each: true })
  @IsArray()
  @ApiProperty({ description: 'Prices of the 10 newest ticks, oldest first', type: [Number] })
  last10: number[];

  @ApiProperty({ description: 'Mean of last10' })
  @IsNumber(FINITE)
  sma10: number;
  @ApiProperty({ description: 'Σ volume over ticks with ts in (newest.ts − 60 s, newest.ts]' })
  @Min(0)
  @IsNumber(FINITE)
  volume1m: number;

  @ValidateIf((_, value) => value !== null)
  @IsNumber(FINITE)
  @ApiProperty({ description: 'Σ price·volume / Σ volume over the window; null when volume1m is 0', nullable: true, type: Number })
  vwap1m: number | null;

  @ApiProperty({ description: 'Highest price in the window' })
  @IsNumber(FINITE)
  high1m: number;
  @ApiProperty({ description: 'Lowest price in the window' })
  @IsNumber(FINITE)
  low1m: number;
  @ApiProperty({ description: 'Price of the oldest tick in the window' })
  @IsNumber(FINITE)
  open1m: number;
  @ApiProperty({ description: 'price − open1m' })
  @IsNumber(FINITE)
  change1m: number;
  @ApiProperty({ description: '100 · (price − open1m) / open1m' })
  @IsNumber(FINITE)
  changePct1m: number;
  @ApiProperty({ description: 'Epoch ms when calc-b produced this view' })
  @IsInt()
  updatedAt: number;
}
