import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InjectMetric, makeCounterProvider } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { DomainEvent, type ReceivedTick } from '@md/contracts';

export const INGEST_OUTCOMES = 'md_ingest_ticks_total';
export type IngestOutcome = 'accepted' | 'duplicate' | 'invalid' | 'unauthorized' | 'unavailable' | 'buffer_full' | 'symbol_limit';

export const ingestOutcomesProvider = makeCounterProvider({
  name: INGEST_OUTCOMES,
  help:
    'Ticks by ingest outcome (buffer_full: 503 at BUFFER_MAX_TICKS; symbol_limit: 422 past MAX_SYMBOLS); ' +
    'a request refused as a whole (401, or a body that is not a tick or an array of 1–1000) counts once',
  labelNames: ['outcome'],
});

export interface TicksEvent {
  ticks: ReceivedTick[];
}

/**
 * Reacts to the ingest's domain events off the hot path (the emitter runs listeners
 * asynchronously): counts outcomes, and writes the audit line of each tick at debug level
 * (the request's trace_id comes with nestjs-pino's request context).
 * Losing one of these events loses a log line or a count, never a tick.
 */
@Injectable()
export class IngestMetrics {
  private readonly logger = new Logger('ingest');

  constructor(@InjectMetric(INGEST_OUTCOMES) private readonly outcomes: Counter<string>) {}

  count(outcome: IngestOutcome, n = 1): void {
    this.outcomes.inc({ outcome }, n);
  }

  @OnEvent(DomainEvent.TicksAccepted, { async: true })
  onAccepted({ ticks }: TicksEvent): void {
    this.count('accepted', ticks.length);
    for (const tick of ticks) this.logger.debug({ event_id: tick.event_id, symbol: tick.symbol }, 'tick accepted');
  }

  @OnEvent(DomainEvent.TicksDuplicate, { async: true })
  onDuplicate({ ticks }: TicksEvent): void {
    this.count('duplicate', ticks.length);
    for (const tick of ticks) this.logger.debug({ event_id: tick.event_id }, 'tick duplicate');
  }
}
