import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';

/** Composite decorators for env fields: one line per variable in the schemas. */
export const EnvInt = (min: number, max: number) =>
  applyDecorators(
    IsInt({ message: `must be an integer between ${min} and ${max}` }),
    Min(min, { message: `must be an integer between ${min} and ${max}` }),
    Max(max, { message: `must be an integer between ${min} and ${max}` }),
  );

export const EnvPort = () => EnvInt(0, 65535);

export const EnvString = (opts: { min?: number; max?: number; pattern?: RegExp; hint?: string } = {}) =>
  applyDecorators(
    // Registration order is check order (and only the first failure is reported).
    IsNotEmpty({ message: 'is required' }),
    IsString({ message: 'must be a string' }),
    ...(opts.min ? [MinLength(opts.min, { message: `must be at least ${opts.min} characters` })] : []),
    ...(opts.max ? [MaxLength(opts.max, { message: `must be at most ${opts.max} characters` })] : []),
    ...(opts.pattern ? [Matches(opts.pattern, { message: `must match ${opts.hint ?? opts.pattern}` })] : []),
  );

export const EnvOptionalString = (opts: { min?: number; max?: number } = {}) =>
  applyDecorators(
    IsOptional(),
    IsString({ message: 'must be a string' }),
    ...(opts.min ? [MinLength(opts.min, { message: `must be at least ${opts.min} characters when set` })] : []),
    ...(opts.max ? [MaxLength(opts.max, { message: `must be at most ${opts.max} characters` })] : []),
  );

export const EnvUrl = (protocols: string[]) =>
  applyDecorators(
    IsNotEmpty({ message: 'is required' }),
    IsUrl(
      { protocols, require_tld: false, require_protocol: true, allow_underscores: true },
      { message: `must be a ${protocols.join('/')}:// URL` },
    ),
  );

export const EnvOneOf = <T extends string>(values: readonly T[]) =>
  IsIn(values as unknown as T[], { message: `must be one of ${values.join(', ')}` });

export const EnvBool = () =>
  applyDecorators(
    // From the raw string (`obj[key]`): `value` has already been through enableImplicitConversion,
    // which makes every non-empty string, 'false' included, `true`.
    Transform(({ obj, key }) => {
      const raw = (obj as Record<string, unknown>)[key];
      return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
    }),
    IsBoolean({ message: 'must be true or false' }),
  );
