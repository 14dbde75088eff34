import { type ArgumentMetadata, HttpStatus, ValidationPipe, type ValidationError } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage } from 'class-validator';
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

/** Per class: its decorators all ran when the class was defined, so the answer never changes. */
const declaredByClass = new WeakMap<object, Set<string>>();

/**
 * The properties a DTO class declares (any class-validator decorator on them). Read once per
 * class: the storage lookup filters every class's metadata, and ingest asks it for every tick.
 */
export function declaredProperties(target: abstract new (...args: never[]) => unknown): Set<string> {
  // A null-prototype object's constructor is undefined: no class, nothing declared (and no WeakMap key).
  if (typeof target !== 'function') return new Set();
  let declared = declaredByClass.get(target);
  if (!declared) {
    declared = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(target, '', true, false)
        .map((m) => m.propertyName),
    );
    declaredByClass.set(target, declared);
  }
  return declared;
}

/**
 * Properties of a request's plain object that its DTO class does not declare, nested DTOs
 * included (`plain` is what the client sent, `instance` what class-transformer made of it).
 * class-validator's whitelist misses some: a property named after a method of Object.prototype
 * (`hasOwnProperty`, `valueOf`, `constructor`…) is either not copied onto the instance or
 * found on the prototype and counted as declared, and the request passed with it. This check
 * reads only the client's own names, so every undeclared property is refused.
 */
export function undeclaredProperties(plain: unknown, instance: unknown, parent = ''): FieldError[] {
  if (plain === null || typeof plain !== 'object' || instance === null || typeof instance !== 'object') return [];
  if (Array.isArray(plain)) {
    return Array.isArray(instance)
      ? plain.flatMap((item, i) => undeclaredProperties(item, instance[i], parent ? `${parent}.${i}` : `${i}`))
      : [];
  }
  const declared = declaredProperties(instance.constructor as never);
  if (declared.size === 0) return [];
  return Object.keys(plain).flatMap((key) => {
    const field = parent ? `${parent}.${key}` : key;
    if (!declared.has(key)) return [{ field, reason: `${field} is not an allowed property` }];
    return undeclaredProperties((plain as Record<string, unknown>)[key], (instance as Record<string, unknown>)[key], field);
  });
}

/**
 * Deeper than any request DTO (an agg-update array → update → view → last10 → number is 4):
 * class-transformer copies undeclared values recursively, so a body of 20,000 nested objects
 * (100 KB) overflowed the stack and was answered 500. Refused with a 400 before it.
 */
export const MAX_NESTING = 32;

/**
 * The fields (own keys of `value`, or `parent` itself) holding values nested deeper than
 * MAX_NESTING, each with its reason; empty when none. Iterative: a hostile depth cannot
 * overflow this check.
 */
export function tooDeeplyNested(value: unknown, parent = ''): FieldError[] {
  if (value === null || typeof value !== 'object') return [];
  const deep = (root: unknown): boolean => {
    const stack: [unknown, number][] = [[root, 1]];
    while (stack.length > 0) {
      const [node, depth] = stack.pop() as [unknown, number];
      if (node === null || typeof node !== 'object') continue;
      if (depth > MAX_NESTING) return true;
      for (const child of Object.values(node)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
    return false;
  };
  if (!deep(value)) return [];
  const field = (key: string) => (parent ? `${parent}.${key}` : key);
  const named = Object.entries(value)
    .filter(([, child]) => deep(child))
    .map(([key]) => ({ field: field(key), reason: `${field(key)} is nested more than ${MAX_NESTING} levels deep` }));
  return named.length > 0
    ? named
    : [{ field: parent || 'body', reason: `${parent || 'body'} is nested more than ${MAX_NESTING} levels deep` }];
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
    if (metadata.metatype && this.toValidate(metadata)) {
      const deep = tooDeeplyNested(value);
      if (deep.length > 0) throw new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', deep);
    }
    const undeclared =
      metadata.metatype && this.toValidate(metadata) && value !== null && typeof value === 'object'
        ? undeclaredProperties(value, plainToInstance(metadata.metatype, value))
        : [];
    let transformed: unknown;
    try {
      transformed = await super.transform(value, metadata);
    } catch (error) {
      if (undeclared.length === 0 || !(error instanceof FieldsException)) throw error;
      const named = new Set(error.errors.map((e) => e.field));
      throw new FieldsException(error.getStatus(), 'validation failed', [
        ...error.errors,
        ...undeclared.filter((e) => !named.has(e.field)),
      ]);
    }
    if (undeclared.length > 0) throw new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', undeclared);
    return transformed;
  }
}

/** The global pipe: strict whitelist, transform to DTO classes, 400 naming each bad field. */
export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    ...VALIDATOR_OPTIONS,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', fieldErrors(errors)),
  });
}
