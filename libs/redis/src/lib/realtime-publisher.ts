import { Inject, Injectable } from '@nestjs/common';
import { ServiceEnv } from '@md/config';
import { REDIS } from './tokens';
import { RedisKeys } from './redis-keys';
import { symbolUpdatedMessage, type SymbolView } from '@md/contracts';
import type { MdRedis } from '@md/pipeline/scripts';

/**
 * Publishes the views on the realtime channel through the mdStoreViews script, so every message
 * gets a sequence number (its history-stream id) and is kept for gap-free resume. (The ingest's
 * tick.received messages go out the same way, through includes/publish.lua, from its commit
 * script mdCommit.)
 */
@Injectable()
export class RealtimePublisher {
  private readonly maxLen: number;

  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly keys: RedisKeys,
    env: ServiceEnv,
  ) {
    this.maxLen = env.STREAM_HISTORY;
  }

  /**
   * Stores views and publishes each as `symbol.updated`, in one atomic script call (one round
   * trip for a whole /internal/agg-update): each view unless a view of the same or a higher
   * tickCount is stored already, in order. Resolves to, per view, whether it was stored; or to
   * `ahead`, the indexes of the views claiming more ticks than calc-a counted for their symbol,
   * when there is any (then nothing was stored).
   */
  async storeViews(updates: readonly { view: SymbolView; receivedAt?: number }[]): Promise<{ stored: boolean[] } | { ahead: number[] }> {
    const codes = await this.redis.mdStoreViews(
      3 + updates.length,
      this.keys.views(),
      this.keys.viewVersions(),
      this.keys.history(),
      ...updates.map(({ view }) => this.keys.calc(view.symbol).state),
      this.keys.channel,
      this.maxLen,
      ...updates.flatMap(({ view, receivedAt }) => [
        view.symbol,
        view.tickCount,
        JSON.stringify(view),
        JSON.stringify(symbolUpdatedMessage(view, receivedAt)),
      ]),
    );
    const ahead = codes.flatMap((code, i) => (code < 0 ? [i] : []));
    return ahead.length > 0 ? { ahead } : { stored: codes.map((code) => code === 1) };
  }
}
