import { HttpStatus } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { AGG_UPDATES_MAX, type FieldError } from '@md/contracts';
import { fieldErrors, FieldsException, notAnObject, tooDeeplyNested, undeclaredProperties, VALIDATOR_OPTIONS } from '@md/platform';
import { acceptAggUpdateFast, AggUpdateDto } from './dto/agg-update.dto';

/** One AggUpdate read: the DTO when valid, else its field errors. */
export interface AggUpdateRead {
  dto?: AggUpdateDto;
  errors: FieldError[];
}

/**
 * One AggUpdate of the body (`parent` prefixes each field: `[i]` in an array, as batch ingest
 * names them). An update acceptAggUpdateFast vouches for is taken without class-validator; every
 * other item goes through readAggUpdateByDto, so each refusal is worded in one place.
 */
export function readAggUpdate(item: unknown, parent: string): AggUpdateRead {
  const dto = acceptAggUpdateFast(item);
  return dto ? { dto, errors: [] } : readAggUpdateByDto(item, parent);
}

/** readAggUpdate with class-validator alone: the reference the fast path is tested against. */
export function readAggUpdateByDto(item: unknown, parent: string): AggUpdateRead {
  const prefix = (field: string) => (parent ? `${parent}.${field}` : field);
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    return { errors: [{ field: parent || 'body', reason: `${parent || 'body'} must be a JSON object` }] };
  }
  const deep = tooDeeplyNested(item, parent);
  if (deep.length > 0) return { errors: deep };
  const dto = plainToInstance(AggUpdateDto, item);
  const errors = fieldErrors(validateSync(dto, VALIDATOR_OPTIONS), parent);
  const named = new Set(errors.map((e) => e.field));
  errors.push(...undeclaredProperties(item, dto, parent).filter((e) => !named.has(e.field)));
  if (errors.length === 0 && dto.view.symbol !== dto.symbol) {
    errors.push({ field: prefix('view.symbol'), reason: 'view.symbol must equal symbol' });
  }
  return { dto, errors };
}

/**
 * The body of POST /internal/agg-update: one AggUpdate (as consumers before batching post it)
 * or an array of 1–AGG_UPDATES_MAX (fields then named `[<index>].<field>`). Validated whole: one
 * bad view refuses the request (400 naming every bad field) and nothing is stored.
 */
export function readAggUpdates(body: unknown): { updates: AggUpdateDto[]; many: boolean } {
  if (!Array.isArray(body)) {
    if (body === null || typeof body !== 'object') throw notAnObject();
    const { dto, errors } = readAggUpdate(body, '');
    if (errors.length > 0 || !dto) throw new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', errors);
    return { updates: [dto], many: false };
  }
  if (body.length === 0 || body.length > AGG_UPDATES_MAX) {
    throw new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', [
      { field: 'body', reason: `body must be an object or an array of 1 to ${AGG_UPDATES_MAX} views` },
    ]);
  }
  const read = body.map((item, i) => readAggUpdate(item, `[${i}]`));
  const errors = read.flatMap((r) => r.errors);
  if (errors.length > 0) throw new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', errors);
  return { updates: read.map((r) => r.dto as AggUpdateDto), many: true };
}
