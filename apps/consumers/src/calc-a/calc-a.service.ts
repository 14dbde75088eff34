import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { ConsumersEnv } from '@md/config';
import { LAST_N, WINDOW_MS, type Tick } from '@md/contracts';
import { WindowState, type WindowSummary } from '@md/market-calc';
import { tickMarkerTtlS, type MdRedis } from '@md/pipeline';
import { REDIS, RedisKeys } from '@md/redis';

export interface CalcAResult {
  /** false when the tick's event_id was counted before (a redelivery or a retry). */
  fresh: boolean;
  summary: WindowSummary;
}

/**
 * A tick calc-a refuses to count because the symbol's sums would stop being finite numbers.
 * Retrying the same tick cannot succeed: the job fails at once (BullMQ's UnrecoverableError).
 */
export class NonFiniteTickError extends UnrecoverableError {}

/**
 * calc-a: applies a tick to its symbol's windows in Redis (one atomic call of mdCalcA,
 * libs/pipeline/src/lib/lua/calc-a.lua, defined on the command connection by RedisModule).
 */
@Injectable()
export class CalcAService {
  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly keys: RedisKeys,
    private readonly env: ConsumersEnv,
  ) {}

  /**
   * `jobOptions`: the options of the tick's job; the dedupe marker outlives the job's
   * retention by them (tickMarkerTtlS), whatever this service's DEDUPE_TTL_S says.
   * Throws NonFiniteTickError for a tick that would make the state non-finite (nothing is stored then).
   */
  async apply(tick: Tick, jobOptions?: { removeOnFail?: unknown }): Promise<CalcAResult> {
    const calc = this.keys.calc(tick.symbol);
    const reply = await this.run(tick, calc, tickMarkerTtlS(jobOptions, this.env.DEDUPE_TTL_S)).catch((error: Error) => {
      throw error.message.startsWith('NONFINITE') ? new NonFiniteTickError(error.message) : error;
    });
    return parseCalcAReply(tick.symbol, reply);
  }

  private run(tick: Tick, calc: ReturnType<RedisKeys['calc']>, markerTtlS: number): Promise<(string | number)[]> {
    return this.redis.mdCalcA(
      this.keys.dedupe(tick.event_id),
      calc.state,
      calc.last,
      calc.window,
      calc.prices,
      tick.event_id,
      String(tick.ts),
      String(tick.price),
      String(tick.volume),
      tick.source,
      markerTtlS,
      WINDOW_MS,
      LAST_N,
      WindowState.EXACT_BELOW,
      WindowState.RELATIVE_ERROR,
    );
  }
}

/** Decodes the script's reply (see libs/pipeline/src/lib/lua/calc-a.lua for its layout). */
export function parseCalcAReply(symbol: string, reply: (string | number)[]): CalcAResult {
  const [fresh, count, ts, eventId, price, source, volume, pv, size, high, low, open, ...last] = reply;
  return {
    fresh: Number(fresh) === 1,
    summary: {
      symbol,
      tickCount: Number(count),
      newest: { ts: Number(ts), eventId: String(eventId), price: Number(price), source: String(source) },
      last10: last.map(Number),
      window: {
        count: Number(size),
        volume: Number(volume),
        pv: Number(pv),
        high: Number(high),
        low: Number(low),
        open: Number(open),
      },
    },
  };
}
