import { type ArgumentMetadata, HttpStatus, ValidationPipe, type ValidationError } from '@nestjs/common';
import type { FieldError } from '@md/contracts';
import { FieldsException } from './errors';

/** Flattens class-validator's tree into `{field: 'a.b.0', reason}` pairs. */
export function fieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([rule, reason]) => ({
      field,
      reason: rule === 'whitelistValidation' ? `${field} is not an allowed property` : reason,
    }));
    return [...own, ...fieldErrors(error.children ?? [], field)];
  });
}

/** class-validator options of every DTO check, by the global pipe or by hand. */
export const VALIDATOR_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  // One reason per field: the type check (declared last on each DTO field) runs first.
  stopAtFirstError: true,
} as const;

/** The 400 of a body that is not a JSON object where one is expected. */
export function notAnObject(): FieldsException {
  return new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', [{ field: 'body', reason: 'body must be a JSON object' }]);
}

/**
 * ValidationPipe that first refuses a body that is not a JSON object where a DTO is
 * expected (an array or a scalar would otherwise be reported field by field).
 */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const expectsDto = metadata.type === 'body' && metadata.metatype && this.toValidate(metadata);
    if (expectsDto && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw notAnObject();
    }
    return super.transform(value, metadata);
  }
}

/** The global pipe: strict whitelist, transform to DTO classes, 400 naming each bad field. */
export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    ...VALIDATOR_OPTIONS,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) =>
      new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', fieldErrors(errors)),
  });
}
