import { Inject, Injectable } from '@nestjs/common';
import { ServiceEnv } from '@md/config';
import { REDIS } from './tokens';
import { RedisKeys } from './redis-keys';
import { symbolUpdatedMessage, type SymbolView } from '@md/contracts';
import type { MdRedis } from '@md/pipeline/scripts';

/**
 * Publishes the views on the realtime channel through the mdStoreView script, so every message
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
   * Stores a symbol's view and publishes `symbol.updated`, atomically, unless a view of the
   * same or a higher tickCount is stored already. Resolves to whether it was stored.
   */
  async storeView(view: SymbolView, receivedAt?: number): Promise<boolean> {
    const stored = await this.redis.mdStoreView(
      this.keys.views(),
      this.keys.viewVersions(),
      this.keys.history(),
      view.symbol,
      view.tickCount,
      JSON.stringify(view),
      this.keys.channel,
      this.maxLen,
      JSON.stringify(symbolUpdatedMessage(view, receivedAt)),
    );
    return stored === 1;
  }
}
