import { Transform, Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, ValidateNested } from 'class-validator';
import { TickRules, type AggUpdate } from '@md/contracts';
import { SymbolViewDto } from '../../symbols/dto/symbol-view.dto';

const upperCase = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.toUpperCase() : value);

export class AggUpdateDto implements AggUpdate {
  /** Upper-cased as ingest does, so a view can only ever be stored under an ingest's symbol. */
  @Transform(upperCase)
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
