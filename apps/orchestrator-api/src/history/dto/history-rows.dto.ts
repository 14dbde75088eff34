import { ApiProperty } from '@nestjs/swagger';
import type { Candle, TickRow } from '@md/contracts';

/** The history routes' answers, for Swagger; the contracts lib holds the types. */

export class TickRowDto implements TickRow {
  @ApiProperty() event_id: string;
  @ApiProperty() symbol: string;
  @ApiProperty() price: number;
  @ApiProperty() volume: number;
  @ApiProperty() source: string;
  @ApiProperty({ description: 'Event time, epoch ms' }) ts: number;
  @ApiProperty({ description: 'When the api accepted the tick, epoch ms' }) received_at: number;
}

export class CandleDto implements Candle {
  @ApiProperty({ description: 'Bar start, epoch ms' }) t: number;
  @ApiProperty({ description: 'Price of the first tick of the bar by (ts, event_id)' }) open: number;
  @ApiProperty() high: number;
  @ApiProperty() low: number;
  @ApiProperty({ description: 'Price of the last tick of the bar by (ts, event_id)' }) close: number;
  @ApiProperty() volume: number;
  @ApiProperty({ description: 'Ticks in the bar' }) trades: number;
  @ApiProperty({ description: 'false for the bar still open (its end is in the future)' }) final: boolean;
}
