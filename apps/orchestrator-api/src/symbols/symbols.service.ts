import { Inject, Injectable } from '@nestjs/common';
import type { SymbolSummary, SymbolView } from '@md/contracts';
import { REDIS, RedisKeys, type MdRedis } from '@md/redis';

/** The latest views, as the api stored them from calc-b (Redis hash symbol → view JSON). */
@Injectable()
export class SymbolsService {
  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly keys: RedisKeys,
  ) {}

  async list(): Promise<SymbolSummary[]> {
    const all = await this.redis.hgetall(this.keys.views());
    return Object.values(all)
      .map((json) => JSON.parse(json) as SymbolView)
      .map(({ symbol, price, ts, changePct1m, tickCount, updatedAt }) => ({ symbol, price, ts, changePct1m, tickCount, updatedAt }))
      .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  }

  async get(symbol: string): Promise<SymbolView | undefined> {
    const json = await this.redis.hget(this.keys.views(), symbol);
    return json ? (JSON.parse(json) as SymbolView) : undefined;
  }
}
