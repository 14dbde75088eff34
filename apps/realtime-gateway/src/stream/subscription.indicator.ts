import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { ReadinessIndicator } from '@md/health';
import { StreamHub } from './hub';

/** Ready while the Redis subscription is live and caught up with history. */
@Injectable()
export class SubscriptionIndicator implements ReadinessIndicator {
  constructor(
    private readonly hub: StreamHub,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async check() {
    const session = this.indicator.check('subscription');
    return this.hub.live
      ? session.up({ clients: this.hub.clientCount })
      : session.down({ message: 'not subscribed to the realtime channel (reconnecting or catching up)' });
  }
}
