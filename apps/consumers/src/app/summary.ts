import { Inject, Injectable } from '@nestjs/common';
import type { WindowSummary } from '@md/market-calc';
import type { MdRedis } from '@md/pipeline';
import { REDIS, RedisKeys } from '@md/redis';

/**
 * Reads a symbol's summary as calc-a left it, in one atomic call (mdSummary,
 * libs/pipeline/src/lib/lua/summary.lua): calc-b builds the view of that one moment, so every
 * view is exactly the reference view of its tickCount.
 */
@Injectable()
export class SummaryReader {
  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly keys: RedisKeys,
  ) {}

  /** null before the symbol's first counted tick. */
  async read(symbol: string): Promise<WindowSummary | null> {
    const calc = this.keys.calc(symbol);
    return parseSummary(symbol, await this.redis.mdSummary(calc.state, calc.last, calc.window, calc.prices));
  }
}

/** Decodes a summary (lua/includes/summary.lua's layout); null when it is empty. */
export function parseSummary(symbol: string, reply: (string | number)[]): WindowSummary | null {
  if (reply.length === 0) return null;
  const [count, ts, eventId, price, source, volume, pv, size, high, low, open, ...last] = reply;
  return {
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
  };
}
