import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, type ValidationError } from 'class-validator';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type EnvSource = Record<string, string | undefined>;

/**
 * Reads `source` (normally `process.env`) into an instance of `schema`, applying the
 * schema's defaults, and validates it. Throws a ConfigError naming every bad variable and
 * why, and never echoing a value (values may be secrets). Empty strings count as unset.
 */
export function validateEnv<T extends object>(schema: new () => T, source: EnvSource): T {
  const known = envKeysOf(schema);
  const plain: Record<string, string> = {};
  for (const key of known) {
    const value = source[key];
    if (value !== undefined && value !== '') plain[key] = value;
  }
  const instance = plainToInstance(schema, plain, {
    enableImplicitConversion: true,
    exposeDefaultValues: true,
  });
  const errors = validateSync(instance, { forbidUnknownValues: true, stopAtFirstError: true });
  if (errors.length > 0) throw new ConfigError(errors.flatMap(describe));
  return instance;
}

function describe(error: ValidationError): string[] {
  const reasons = Object.values(error.constraints ?? {});
  return reasons.map((reason) => `${error.property}: ${reason.replace(`${error.property} `, '')}`);
}

/** The variables a schema declares: every property carrying a validation decorator. */
export function envKeysOf(schema: new () => object): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(schema, '', true, false);
  return [...new Set(metadata.map((m) => m.propertyName))];
}
