import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { tsProblem, type FieldError, type Tick } from '@md/contracts';
import { fieldErrors, VALIDATOR_OPTIONS } from '@md/platform';
import { TickDto } from './dto/tick.dto';

/** The rules of a tick that come from the env rather than the DTO. */
export interface TickLimits {
  /** MAX_FUTURE_SKEW_MS. */
  maxFutureSkewMs: number;
}

/**
 * Validates one item of a batch with the same DTO and the same rules as the global pipe
 * (whitelist, no unknown properties), so a batch item is valid exactly when it would be
 * valid on its own. The future skew is checked here, not in the DTO: it is a setting.
 */
export function validateTickItem(item: unknown, limits: TickLimits, now = Date.now()): { tick: Tick } | { errors: FieldError[]; eventId?: string } {
  const eventId =
    item && typeof item === 'object' && typeof (item as { event_id?: unknown }).event_id === 'string'
      ? ((item as { event_id: string }).event_id.slice(0, 128) as string)
      : undefined;
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    return { errors: [{ field: 'item', reason: 'each item must be a JSON object' }], eventId };
  }
  const dto = plainToInstance(TickDto, item);
  const errors = fieldErrors(validateSync(dto, VALIDATOR_OPTIONS));
  const tsValid = !errors.some((e) => e.field === 'ts');
  const future = tsValid ? tsProblem(dto.ts, now, limits.maxFutureSkewMs) : undefined;
  if (future) errors.push({ field: 'ts', reason: `${future} (MAX_FUTURE_SKEW_MS)` });
  if (errors.length > 0) return { errors, eventId };
  const { symbol, price, volume, source, ts, event_id } = dto;
  return { tick: { symbol, price, volume, source, ts, event_id } };
}
