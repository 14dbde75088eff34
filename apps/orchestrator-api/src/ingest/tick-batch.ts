import type { BatchAck, BatchItemResult, FieldError, ReceivedTick } from '@md/contracts';
import { TickRules } from '@md/contracts';
import type { TickOutcome } from './ingest.service';
import { validateTickItem, type TickLimits } from './validate-tick-item';

/**
 * The bookkeeping of POST /ingest/tick(s) batches, pure (no Redis, no Nest): reading a body item
 * by item, and turning the outcomes of its valid ticks into the answer. IngestService.ingestBatch
 * wires it to the store and the metrics.
 */

/** What every tick of one request carries besides its own fields. */
export type TickStamp = Pick<ReceivedTick, 'receivedAt' | 'traceId'>;

/** A body refused as a whole (400): nothing is stored; `invalid` items are counted. */
export interface RefusedBatch {
  message: string;
  errors: FieldError[];
  invalid: number;
}

/** A body with at least one valid tick. */
export interface ReadBatch {
  /** One result per item; the valid items' slots are filled by settleBatch. */
  items: BatchItemResult[];
  /** The valid ticks, in request order, with their position. */
  valid: { index: number; tick: ReceivedTick }[];
}

/** The answer to a batch, and what the caller must still do about it. */
export interface SettledBatch {
  ack: BatchAck;
  /** Items to count as invalid (those refused by MAX_SYMBOLS are counted by the service as symbol_limit). */
  invalid: number;
  /** Set when a valid item was not stored: answer 503 with this Retry-After. */
  retryAfterS?: number;
}

/** Validates each item of a batch body on its own; refuses the body when it is not a batch or holds no valid tick. */
export function readBatch(body: unknown, limits: TickLimits, stamp: TickStamp): ReadBatch | RefusedBatch {
  if (!Array.isArray(body) || body.length < 1 || body.length > TickRules.maxBatch) {
    return {
      message: 'validation failed',
      errors: [{ field: 'body', reason: `body must be a JSON array of 1–${TickRules.maxBatch} ticks` }],
      invalid: 1,
    };
  }
  const items: BatchItemResult[] = new Array(body.length);
  const valid: ReadBatch['valid'] = [];
  body.forEach((item, index) => {
    const result = validateTickItem(item, limits);
    if ('errors' in result) items[index] = { index, event_id: result.eventId, status: 'invalid', errors: result.errors };
    else valid.push({ index, tick: { ...result.tick, ...stamp } });
  });
  if (valid.length > 0) return { items, valid };
  return {
    message: 'validation failed: no valid tick',
    errors: items.flatMap((item) =>
      'errors' in item ? item.errors.map((e) => ({ field: `[${item.index}].${e.field}`, reason: e.reason })) : [],
    ),
    invalid: body.length,
  };
}

/** The answer to a batch, given the outcome of each of its valid ticks (in the order of `batch.valid`). */
export function settleBatch({ items, valid }: ReadBatch, outcomes: TickOutcome[]): SettledBatch {
  valid.forEach(({ index, tick }, k) => {
    const outcome = outcomes[k];
    // A tick refused by a cap is reported as invalid, naming the field: retrying it cannot help.
    items[index] =
      outcome.status === 'unavailable'
        ? { index, event_id: tick.event_id, status: 'unavailable', reason: outcome.reason }
        : outcome.status === 'refused'
          ? { index, event_id: tick.event_id, status: 'invalid', errors: [{ field: outcome.field, reason: outcome.reason }] }
          : { index, event_id: tick.event_id, status: outcome.status };
  });
  const count = (status: BatchItemResult['status']) => items.filter((item) => item.status === status).length;
  const ack: BatchAck = {
    errors: valid.length !== items.length || outcomes.some((o) => o.status === 'unavailable'),
    accepted: count('accepted'),
    duplicate: count('duplicate'),
    invalid: count('invalid'),
    unavailable: count('unavailable'),
    items,
  };
  const refused = outcomes.filter((o) => o.status === 'refused').length;
  const settled: SettledBatch = { ack, invalid: Math.max(0, ack.invalid - refused) };
  if (ack.unavailable > 0) {
    settled.retryAfterS = Math.max(...outcomes.map((o) => (o.status === 'unavailable' ? o.retryAfterS : 1)));
  }
  return settled;
}
