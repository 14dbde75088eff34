import { ApiProperty } from '@nestjs/swagger';
import type { SymbolSummary } from '@md/contracts';

export class SymbolSummaryDto implements SymbolSummary {
  @ApiProperty({ example: 'BTCUSDT' }) symbol: string;
  @ApiProperty({ description: 'Price of the newest tick' }) price: number;
  @ApiProperty({ description: 'Event time of the newest tick, epoch ms' }) ts: number;
  @ApiProperty({ description: 'Change over the 1-minute window, in %' }) changePct1m: number;
  @ApiProperty({ description: 'Version of the view (unique ticks seen)' }) tickCount: number;
  @ApiProperty({ description: 'Epoch ms when the view was produced' }) updatedAt: number;
}
