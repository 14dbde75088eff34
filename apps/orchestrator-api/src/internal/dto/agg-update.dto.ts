import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, ValidateNested } from 'class-validator';
import { TickRules, type AggUpdate } from '@md/contracts';
import { SymbolViewDto } from '../../symbols/dto/symbol-view.dto';

export class AggUpdateDto implements AggUpdate {
  @Matches(TickRules.symbolPattern, { message: 'symbol must be a valid symbol' })
  @IsString()
  symbol: string;

  @ValidateNested()
  @Type(() => SymbolViewDto)
  view: SymbolViewDto;

  @IsInt()
  ts: number;

  @IsOptional()
  @IsInt()
  receivedAt?: number;
}
