import { Transform, Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, ValidateNested } from 'class-validator';
import { TickRules, type AggUpdate } from '@md/contracts';
import { acceptSymbolViewFast, SymbolViewDto } from '../../symbols/dto/symbol-view.dto';

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

/** The properties AggUpdateDto declares; agg-update.fast-accept.spec.ts checks this against the DTO's metadata. */
export const AGG_UPDATE_KEYS = ['symbol', 'view', 'ts', 'receivedAt'] as const satisfies readonly (keyof AggUpdateDto)[];
const AGG_UPDATE_KEY_SET: ReadonlySet<string> = new Set(AGG_UPDATE_KEYS);

/**
 * The AggUpdateDto plainToInstance would make of `item` when `item` is a certainly valid view
 * update (its view's symbol the update's, as readAggUpdates requires), else undefined: "not
 * certainly valid", never "invalid". class-transformer and class-validator were about 8 % of the
 * api's busy time under batched ingest, on calc-b's views, which are nearly all valid; so
 * readAggUpdates checks each here first and leaves everything else (and every error message) to
 * the DTO. It must accept nothing the DTO refuses and return the DTO's instances, key order
 * included: keep it beside the decorators and change both together (agg-update.fast-accept.spec.ts
 * compares the two on random items).
 */
export function acceptAggUpdateFast(item: unknown): AggUpdateDto | undefined {
  if (typeof item !== 'object' || item === null || Object.getPrototypeOf(item) !== Object.prototype) return undefined;
  for (const key of Object.keys(item)) if (!AGG_UPDATE_KEY_SET.has(key)) return undefined;
  const { symbol, view, ts, receivedAt } = item as Record<string, unknown>;
  if (typeof symbol !== 'string' || !TickRules.symbolPattern.test(symbol) || !Number.isInteger(ts)) return undefined;
  // IsOptional lets null through too; calc-b leaves receivedAt out instead, so a null is left to the DTO.
  if (receivedAt !== undefined && !Number.isInteger(receivedAt)) return undefined;
  const accepted = acceptSymbolViewFast(view);
  const upper = symbol.toUpperCase();
  if (!accepted || accepted.symbol !== upper) return undefined;
  return Object.assign(new AggUpdateDto(), item, { symbol: upper, view: accepted });
}
