import { Inject, Injectable } from '@nestjs/common';
import { ConsumersEnv } from '@md/config';
import { LAST_N, WINDOW_MS, type Tick } from '@md/contracts';
import { WindowState, type WindowSummary } from '@md/market-calc';
import { tickMarkerTtlS, type CountResult, type MdRedis } from '@md/pipeline';
import { REDIS, RedisKeys } from '@md/redis';
import { parseSummary } from '../app/summary';

export interface CalcAResult {
  /** One per tick of the chunk, in order. */
  outcomes: CountResult[];
  /** The symbol's summary after the chunk (null: no tick of the symbol was ever counted). */
  summary: WindowSummary | null;
}

/**
 * calc-a: applies a chunk of one symbol's ticks to its windows in Redis, in one atomic call of
 * mdCalcA (libs/pipeline/src/lib/lua/calc-a.lua, defined on the command connection by RedisModule).
 */
@Injectable()
export class CalcAService {
  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly keys: RedisKeys,
    private readonly env: ConsumersEnv,
  ) {}

  /**
   * `ticks`: of `symbol`, in the order to apply them. `jobOptions`: the options of their job;
   * the dedupe markers outlive the job's retention by them (tickMarkerTtlS), whatever this
   * service's DEDUPE_TTL_S says.
   */
  async apply(symbol: string, ticks: Tick[], jobOptions?: { removeOnFail?: unknown }): Promise<CalcAResult> {
    const calc = this.keys.calc(symbol);
    const reply = await this.redis.mdCalcA(
      4 + ticks.length,
      calc.state,
      calc.last,
      calc.window,
      calc.prices,
      ...ticks.map((tick) => this.keys.dedupe(tick.event_id)),
      tickMarkerTtlS(jobOptions, this.env.DEDUPE_TTL_S),
      WINDOW_MS,
      LAST_N,
      WindowState.EXACT_BELOW,
      WindowState.RELATIVE_ERROR,
      ...ticks.flatMap((tick) => [tick.event_id, String(tick.ts), String(tick.price), String(tick.volume), tick.source]),
    );
    return parseCalcAReply(symbol, reply);
  }
}

/** Decodes mdCalcA's reply: the outcomes, then the summary. */
export function parseCalcAReply(symbol: string, reply: (string | number)[]): CalcAResult {
  const [outcomes, ...summary] = reply;
  return { outcomes: [...String(outcomes)] as CountResult[], summary: parseSummary(symbol, summary) };
}
