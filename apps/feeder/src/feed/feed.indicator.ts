import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { ReadinessIndicator } from '@md/health';
import { TickSender } from './sender';

/** Ready unless the target has failed (no answer or 5xx) several times in a row. */
@Injectable()
export class FeedIndicator implements ReadinessIndicator {
  constructor(
    private readonly sender: TickSender,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async check() {
    const session = this.indicator.check('target');
    const details = { url: this.sender.target, consecutiveFailures: this.sender.consecutiveFailures };
    return this.sender.consecutiveFailures < 5 ? session.up(details) : session.down(details);
  }
}
