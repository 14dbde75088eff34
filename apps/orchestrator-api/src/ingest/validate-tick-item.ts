import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { tsProblem, type FieldError, type Tick } from '@md/contracts';
import { fieldErrors, tooDeeplyNested, undeclaredProperties, VALIDATOR_OPTIONS } from '@md/platform';
import { acceptTickFast, TickDto } from './dto/tick.dto';

/** The rules of a tick that come from the env rather than the DTO. */
export interface TickLimits {
  /** MAX_FUTURE_SKEW_MS. */
  maxFutureSkewMs: number;
  /** RETENTION_DAYS; 0 or absent: no lower bound beyond 2000-01-01. */
  retentionDays?: number;
}

/**
 * How much younger than RETENTION_DAYS a tick must be to be accepted: the flusher expires ticks
 * past retention, so an accepted tick must not age out while it waits in the buffer normally.
 */
export const RETENTION_MARGIN_MS = 3_600_000;

/** Why `ts` is too old to be stored at `now` under RETENTION_DAYS, or undefined. */
export function retentionProblem(ts: number, now: number, retentionDays = 0): string | undefined {
  if (retentionDays <= 0) return undefined;
  const oldest = now - retentionDays * 86_400_000 + RETENTION_MARGIN_MS;
  if (ts >= oldest) return undefined;
  return `ts must not be before ${new Date(oldest).toISOString()} (RETENTION_DAYS=${retentionDays} days ago, plus 1 h): older ticks would not be stored`;
}

export type TickItemResult = { tick: Tick } | { errors: FieldError[]; eventId?: string };

/**
 * Validates one tick (POST /ingest/tick, and each item of POST /ingest/ticks) with the DTO's
 * rules and the global pipe's options (whitelist, no unknown properties), so a batch item is
 * valid exactly when it would be valid on its own. The future skew and the retention bound are
 * checked here, not in the DTO: they are settings.
 *
 * A tick acceptTickFast vouches for, within those settings, is accepted without class-validator;
 * every other item, a fast-accepted tick out of the settings' bounds included, goes through
 * validateTickItemByDto, so each refusal is worded in one place.
 */
export function validateTickItem(item: unknown, limits: TickLimits, now = Date.now()): TickItemResult {
  const tick = acceptTickFast(item);
  if (
    tick &&
    tsProblem(tick.ts, now, limits.maxFutureSkewMs) === undefined &&
    retentionProblem(tick.ts, now, limits.retentionDays) === undefined
  ) {
    return { tick };
  }
  return validateTickItemByDto(item, limits, now);
}

/** validateTickItem with class-validator alone: the reference the fast path is tested against. */
export function validateTickItemByDto(item: unknown, limits: TickLimits, now = Date.now()): TickItemResult {
  const eventId =
    item && typeof item === 'object' && typeof (item as { event_id?: unknown }).event_id === 'string'
      ? ((item as { event_id: string }).event_id.slice(0, 128) as string)
      : undefined;
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    return { errors: [{ field: 'item', reason: 'each item must be a JSON object' }], eventId };
  }
  const deep = tooDeeplyNested(item);
  if (deep.length > 0) return { errors: deep, eventId };
  const dto = plainToInstance(TickDto, item);
  const errors = fieldErrors(validateSync(dto, VALIDATOR_OPTIONS));
  const named = new Set(errors.map((e) => e.field));
  errors.push(...undeclaredProperties(item, dto).filter((e) => !named.has(e.field)));
  const tsValid = !errors.some((e) => e.field === 'ts');
  const future = tsValid ? tsProblem(dto.ts, now, limits.maxFutureSkewMs) : undefined;
  if (future) errors.push({ field: 'ts', reason: `${future} (MAX_FUTURE_SKEW_MS)` });
  const old = tsValid && !future ? retentionProblem(dto.ts, now, limits.retentionDays) : undefined;
  if (old) errors.push({ field: 'ts', reason: old });
  if (errors.length > 0) return { errors, eventId };
  const { symbol, price, volume, source, ts, event_id } = dto;
  return { tick: { symbol, price, volume, source, ts, event_id } };
}
