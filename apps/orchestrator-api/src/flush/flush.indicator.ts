import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { ReadinessIndicator } from '@md/health';
import { DatabaseService } from '../database/database.service';
import { FlushService } from './flush.service';

/**
 * Reports the flusher and Postgres in readiness, without failing it: ingest does not need
 * Postgres (ticks wait in the Redis buffer), so an api whose database is away keeps taking
 * ticks. The details say whether Postgres is reachable and why the last flush failed.
 */
@Injectable()
export class FlushIndicator implements ReadinessIndicator {
  constructor(
    private readonly flush: FlushService,
    private readonly database: DatabaseService,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async check() {
    return this.indicator.check('flush').up({
      postgres: !this.database.isConnected ? 'unreachable' : this.flush.lastError ? 'failing' : 'up',
      // Generic: readiness is public; the driver's message (hosts, ports) is in the log.
      lastError: this.flush.lastError ? 'flush failed' : this.database.lastError ? 'connect failed' : null,
      lastFlushAt: this.flush.lastFlushAt ?? null,
    });
  }
}
