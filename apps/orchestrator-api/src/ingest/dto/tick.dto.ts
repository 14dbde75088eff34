import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsNumber,
  IsPositive,
  IsString,
  Matches,
  Max,
  MaxLength,
  MinLength,
  Min,
  registerDecorator,
  type ValidationArguments,
} from 'class-validator';
import { parseTickTs, TickRules, tsProblem, type Tick } from '@md/contracts';

const FINITE = { allowNaN: false, allowInfinity: false } as const;

/** Shortest `source`. */
export const SOURCE_MIN_LENGTH = 1;

/** A normalised `ts` the DTO accepts (the future skew aside). */
const isTickTsValue = (value: unknown): boolean =>
  Number.isSafeInteger(value) && tsProblem(value as number, Date.now(), Infinity) === undefined;

const isZeroOrAtLeastMinVolume = (value: unknown): boolean => value === 0 || (typeof value === 'number' && value >= TickRules.minVolume);

/** `ts` arrives as ISO-8601 or epoch ms and leaves the pipe as epoch ms. */
function IsTickTs() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isTickTs',
      target: target.constructor,
      propertyName,
      validator: {
        // The future skew (MAX_FUTURE_SKEW_MS) is a setting, checked in validateTickItem.
        validate: isTickTsValue,
        defaultMessage: ({ value }: ValidationArguments) =>
          Number.isSafeInteger(value)
            ? (tsProblem(value as number, Date.now(), Infinity) ?? 'ts is invalid')
            : 'ts must be an ISO-8601 date-time with offset (e.g. 2026-01-02T03:04:05.678Z) or an integer of epoch milliseconds',
      },
    });
}

/** `volume` is 0 (no trade size reported) or at least TickRules.minVolume. */
function IsZeroOrAtLeastMinVolume() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isZeroOrAtLeastMinVolume',
      target: target.constructor,
      propertyName,
      validator: {
        validate: isZeroOrAtLeastMinVolume,
        defaultMessage: () => `volume must be 0 or at least ${TickRules.minVolume}`,
      },
    });
}

/**
 * One tick on POST /ingest/tick (and each item of POST /ingest/ticks).
 * On each field the type check is the last decorator: decorators apply bottom-up, so it
 * runs first and, with stopAtFirstError, a wrong type is the one reason given.
 */
export class TickDto implements Tick {
  @ApiProperty({
    description: 'Instrument symbol: 1–32 of A–Z a–z 0–9 . _ : / -, stored upper-case',
    example: 'BTCUSDT',
    pattern: TickRules.symbolPattern.source,
    maxLength: TickRules.symbolMaxLength,
  })
  @Transform(({ value }) => (typeof value === 'string' ? value.toUpperCase() : value))
  @Matches(TickRules.symbolPattern, { message: 'symbol must be 1–32 characters of A-Z a-z 0-9 . _ : / -' })
  @IsString({ message: 'symbol must be a string' })
  symbol: string;

  @ApiProperty({
    description: `Trade price: ${TickRules.minPrice} to ${TickRules.maxPrice} (bounds that keep every sum and ratio of the views finite)`,
    example: 64250.5,
    minimum: TickRules.minPrice,
    maximum: TickRules.maxPrice,
  })
  @Max(TickRules.maxPrice, { message: `price must be at most ${TickRules.maxPrice}` })
  @Min(TickRules.minPrice, { message: `price must be at least ${TickRules.minPrice}` })
  @IsPositive({ message: 'price must be greater than 0' })
  @IsNumber(FINITE, { message: 'price must be a finite number' })
  price: number;

  @ApiProperty({
    description: `Traded quantity: 0, or ${TickRules.minVolume} to ${TickRules.maxVolume} (bounds that keep the 1-minute sums finite and every price·volume a normal number)`,
    example: 0.0125,
    minimum: 0,
    maximum: TickRules.maxVolume,
  })
  @IsZeroOrAtLeastMinVolume()
  @Max(TickRules.maxVolume, { message: `volume must be at most ${TickRules.maxVolume}` })
  @Min(0, { message: 'volume must be greater than or equal to 0' })
  @IsNumber(FINITE, { message: 'volume must be a finite number' })
  volume: number;

  @ApiProperty({ description: 'Source (exchange/feed) id: 1–64 printable characters', example: 'binance', maxLength: 64 })
  @Matches(TickRules.sourcePattern, { message: 'source must contain printable characters only' })
  @MaxLength(TickRules.sourceMaxLength, { message: 'source must be at most 64 characters' })
  @MinLength(SOURCE_MIN_LENGTH, { message: 'source must not be empty' })
  @IsString({ message: 'source must be a string' })
  source: string;

  @ApiProperty({
    description:
      'Event time: ISO-8601 date-time with offset, or epoch milliseconds; normalised to epoch ms; ' +
      'at most MAX_FUTURE_SKEW_MS (default 5000 ms) ahead of the server clock, not before 2000',
    oneOf: [{ type: 'string', format: 'date-time' }, { type: 'integer' }],
    example: '2026-11-24T10:15:30.123Z',
  })
  @Transform(({ value }) => parseTickTs(value) ?? value)
  @IsTickTs()
  ts: number;

  @ApiProperty({
    description: 'Unique id of the tick (idempotency key): 1–128 visible ASCII characters, e.g. a UUIDv7 or ULID',
    example: '0193c9a2-7b1e-7cc3-9f1e-2b7d1c9e4a10',
    maxLength: TickRules.eventIdMaxLength,
  })
  @Matches(TickRules.eventIdPattern, { message: 'event_id must be 1–128 visible ASCII characters (no spaces)' })
  @IsString({ message: 'event_id must be a string' })
  event_id: string;
}

/** The properties TickDto declares; tick.fast-accept.spec.ts checks this against the DTO's metadata. */
export const TICK_KEYS = ['symbol', 'price', 'volume', 'source', 'ts', 'event_id'] as const satisfies readonly (keyof TickDto)[];
const TICK_KEY_SET: ReadonlySet<string> = new Set(TICK_KEYS);

/**
 * The tick TickDto would make of `item` when `item` is certainly valid, else undefined: "not
 * certainly valid", never "invalid". class-transformer and class-validator cost ~15× this per
 * tick (an instance, a metadata walk, an error array); the feeder's ticks are nearly all valid, so
 * the ingest path checks them here first and leaves everything else (and every error message)
 * to the DTO. It must accept nothing the DTO refuses and return exactly the DTO's normalised
 * tick: keep it beside the decorators, with the same TickRules, and change both together
 * (tick.fast-accept.spec.ts compares the two on random items).
 */
export function acceptTickFast(item: unknown): Tick | undefined {
  // A JSON object: own enumerable keys only, no accessors or class behind it.
  if (typeof item !== 'object' || item === null || Object.getPrototypeOf(item) !== Object.prototype) return undefined;
  const keys = Object.keys(item);
  if (keys.length !== TICK_KEYS.length) return undefined;
  for (const key of keys) if (!TICK_KEY_SET.has(key)) return undefined;
  const { symbol, price, volume, source, ts, event_id } = item as Record<string, unknown>;
  // The pattern is ASCII, so the upper-cased symbol (which the DTO matches) matches too.
  if (typeof symbol !== 'string' || !TickRules.symbolPattern.test(symbol)) return undefined;
  // Comparisons are false for NaN, and the bounds are finite: this is IsNumber(FINITE), IsPositive, Min, Max.
  if (typeof price !== 'number' || !(price >= TickRules.minPrice && price <= TickRules.maxPrice)) return undefined;
  // Min(0) and Max, then IsZeroOrAtLeastMinVolume; -0 passes both, as it passes the DTO.
  if (typeof volume !== 'number' || !(volume >= 0 && volume <= TickRules.maxVolume && isZeroOrAtLeastMinVolume(volume))) return undefined;
  if (
    typeof source !== 'string' ||
    source.length < SOURCE_MIN_LENGTH ||
    source.length > TickRules.sourceMaxLength ||
    !TickRules.sourcePattern.test(source)
  ) {
    return undefined;
  }
  if (typeof event_id !== 'string' || !TickRules.eventIdPattern.test(event_id)) return undefined;
  const epochMs = parseTickTs(ts);
  if (epochMs === undefined || !isTickTsValue(epochMs)) return undefined;
  return { symbol: symbol.toUpperCase(), price, volume, source, ts: epochMs, event_id };
}
