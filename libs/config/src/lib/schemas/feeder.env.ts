import { Transform } from 'class-transformer';
import { ArrayNotEmpty, ArrayUnique, IsNumber, IsOptional, Matches, Max, Min } from 'class-validator';
import { TickRules } from '@md/contracts';
import { EnvInt, EnvOptionalString, EnvString, EnvUrl } from '../decorators';
import { BasicAuthUser } from '../secrets-policy';
import { BaseEnv } from './service.env';

const list = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : value;

/** The feeder: a tick generator that may run on another machine than the api. */
export class FeederEnv extends BaseEnv {
  override PORT: number = 3003;

  /**
   * Where ticks go. With BATCH_SIZE > 1, a path ending in /ingest/tick becomes /ingest/ticks.
   * A bare host:port (what a Render blueprint's `fromService … property: hostport` gives) is
   * read as http://host:port/ingest/tick.
   */
  @Transform(({ value }) => (typeof value === 'string' && /^[^/:]+:\d+$/.test(value) ? `http://${value}/ingest/tick` : value))
  @EnvUrl(['http', 'https'])
  TARGET_URL: string = 'http://localhost:3000/ingest/tick';

  @BasicAuthUser()
  @EnvString({ max: 128 })
  INGEST_USERNAME: string;

  @EnvString({ min: 8, max: 256, secret: true })
  INGEST_PASSWORD: string;

  @Transform(list)
  @ArrayUnique((symbol: string) => symbol.toUpperCase(), { message: 'must not name a symbol twice' })
  @ArrayNotEmpty({ message: 'must name at least one symbol' })
  @Matches(TickRules.symbolPattern, { each: true, message: 'must be a comma-separated list of symbols (A-Z a-z 0-9 . _ : / -)' })
  SYMBOLS: string[] = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XAUUSD', 'EURUSD'];

  @Transform(list)
  @ArrayNotEmpty({ message: 'must name at least one source' })
  @Matches(TickRules.sourcePattern, { each: true, message: 'must be a comma-separated list of printable names' })
  SOURCES: string[] = ['binance', 'coinbase', 'lmax'];

  /** Ticks per second in total, spread across the symbols. */
  @Max(100_000, { message: 'must be a number from 0.1 to 100000' })
  @Min(0.1, { message: 'must be a number from 0.1 to 100000' })
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'must be a number from 0.1 to 100000' })
  TPS: number = 50;

  /** Stop after this many seconds (unset: run until stopped). */
  @IsOptional()
  @EnvInt(1, 31 * 86_400)
  DURATION_S?: number;

  /** Stop after this many ticks (unset: run until stopped). */
  @IsOptional()
  @EnvInt(1, 1_000_000_000)
  COUNT?: number;

  /**
   * Same seed → same symbols, volumes and sources in the same order, and the same price path
   * for the same timing (prices step by the real time between ticks). Unset: random (logged).
   */
  @EnvOptionalString({ max: 128 })
  SEED?: string;

  /** 1: one tick per request to /ingest/tick; more: batches to /ingest/ticks. */
  @EnvInt(1, 1000)
  BATCH_SIZE: number = 1;

  /** Requests in flight at most (over keep-alive connections). */
  @EnvInt(1, 10_000)
  MAX_IN_FLIGHT: number = 64;

  /** Retries of a tick (network errors, 401, 429, 5xx) before it is counted as failed. */
  @EnvInt(0, 100)
  MAX_RETRIES: number = 10;

  @EnvInt(1, 3_600)
  PROGRESS_INTERVAL_S: number = 10;
}
