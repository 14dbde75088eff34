import { Inject, Injectable } from '@nestjs/common';
import { ServiceEnv } from '@md/config';
import { REDIS } from './tokens';
import { RedisKeys } from './redis-keys';
import type { MdPipeline, MdRedis } from './scripts';

/**
 * Publishes on the realtime channel through the mdPublish script, so every message gets a
 * sequence number (its history-stream id) and is kept for gap-free resume.
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

  /** Adds the publish to a pipeline or MULTI that the caller executes. */
  queue(pipeline: MdPipeline, message: object): void {
    pipeline.mdPublish(this.keys.history(), this.keys.channel, this.maxLen, JSON.stringify(message));
  }

  /** Publishes now; resolves to the message's seq. */
  publish(message: object): Promise<string> {
    return this.redis.mdPublish(this.keys.history(), this.keys.channel, this.maxLen, JSON.stringify(message));
  }
}
