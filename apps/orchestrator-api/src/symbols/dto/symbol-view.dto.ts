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

/** The properties SymbolViewDto declares; agg-update.fast-accept.spec.ts checks this against the DTO's metadata. */
export const SYMBOL_VIEW_KEYS = [
  'symbol',
  'price',
  'ts',
  'source',
  'eventId',
  'tickCount',
  'last10',
  'sma10',
  'volume1m',
  'vwap1m',
  'high1m',
  'low1m',
  'open1m',
  'change1m',
  'changePct1m',
  'updatedAt',
] as const satisfies readonly (keyof SymbolViewDto)[];
const SYMBOL_VIEW_KEY_SET: ReadonlySet<string> = new Set(SYMBOL_VIEW_KEYS);

/** IsNumber(FINITE): Number.isFinite does not coerce, so a numeric string fails it as it fails the DTO. */
const isFiniteNumber = (value: unknown): value is number => Number.isFinite(value);
/** IsInt: class-validator's isInt is `typeof number` and Number.isInteger, which is false for anything else anyway. */
const isInteger = (value: unknown): value is number => Number.isInteger(value);

/**
 * The SymbolViewDto plainToInstance would make of `view` when `view` is certainly valid, else
 * undefined: "not certainly valid", never "invalid". The fast path of each view of POST
 * /internal/agg-update (acceptAggUpdateFast): it must accept nothing the DTO refuses and return
 * the DTO's instance, same prototype, same values, same key order (the view is stored and
 * published as JSON.stringify of it). Keep it beside the decorators and change both together
 * (agg-update.fast-accept.spec.ts compares the two on random views).
 */
export function acceptSymbolViewFast(view: unknown): SymbolViewDto | undefined {
  // A JSON object: own enumerable keys only, no class behind it.
  if (typeof view !== 'object' || view === null || Object.getPrototypeOf(view) !== Object.prototype) return undefined;
  // Only declared keys; a declared key that is missing reads as undefined, which every check below refuses.
  for (const key of Object.keys(view)) if (!SYMBOL_VIEW_KEY_SET.has(key)) return undefined;
  const {
    symbol,
    price,
    ts,
    source,
    eventId,
    tickCount,
    last10,
    sma10,
    volume1m,
    vwap1m,
    high1m,
    low1m,
    open1m,
    change1m,
    changePct1m,
    updatedAt,
  } = view as Record<string, unknown>;
  // The pattern is ASCII, so the upper-cased symbol (which the DTO matches) matches too.
  if (typeof symbol !== 'string' || !TickRules.symbolPattern.test(symbol)) return undefined;
  if (!isFiniteNumber(price) || !(price > 0)) return undefined;
  if (!isInteger(ts) || !isInteger(updatedAt)) return undefined;
  if (typeof source !== 'string' || typeof eventId !== 'string') return undefined;
  if (!isInteger(tickCount) || tickCount < 1 || tickCount > Number.MAX_SAFE_INTEGER) return undefined;
  // Min(0) after IsNumber(FINITE); -0 passes both, as it passes the DTO.
  if (!isFiniteNumber(volume1m) || !(volume1m >= 0)) return undefined;
  // ValidateIf skips null only; undefined (absent) fails IsNumber.
  if (vwap1m !== null && !isFiniteNumber(vwap1m)) return undefined;
  if (![sma10, high1m, low1m, open1m, change1m, changePct1m].every(isFiniteNumber)) return undefined;
  if (!Array.isArray(last10) || last10.length > LAST_N) return undefined;
  // class-transformer copies an array into a new plain one; a hole reads as undefined here and is left to the DTO.
  const prices: number[] = [];
  for (let i = 0; i < last10.length; i++) {
    const value: unknown = last10[i];
    if (!isFiniteNumber(value)) return undefined;
    prices.push(value);
  }
  // As plainToInstance: a new instance, the client's keys assigned in the client's order, then the transforms.
  return Object.assign(new SymbolViewDto(), view, { symbol: symbol.toUpperCase(), last10: prices });
}
