import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { ReadinessIndicator } from '@md/health';
import { TickSender } from './sender';

/** Ready unless the target has failed (no answer, 401 or 5xx) several times in a row. */
@Injectable()
export class FeedIndicator implements ReadinessIndicator {
  constructor(
    private readonly sender: TickSender,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async check() {
    const session = this.indicator.check('target');
    // No target URL: readiness is public, and the address of the api is not its business.
    const details = { consecutiveFailures: this.sender.consecutiveFailures };
    return this.sender.consecutiveFailures < 5 ? session.up(details) : session.down(details);
  }
}
