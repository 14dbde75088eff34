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

/** `ts` arrives as ISO-8601 or epoch ms and leaves the pipe as epoch ms. */
function IsTickTs() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isTickTs',
      target: target.constructor,
      propertyName,
      validator: {
        // The future skew (MAX_FUTURE_SKEW_MS) is a setting, checked in validateTickItem.
        validate: (value: unknown) => Number.isSafeInteger(value) && tsProblem(value as number, Date.now(), Infinity) === undefined,
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
        validate: (value: unknown) => value === 0 || (typeof value === 'number' && value >= TickRules.minVolume),
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
  @MinLength(1, { message: 'source must not be empty' })
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
