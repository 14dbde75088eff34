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
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { NotPlaceholder, parseTrustProxy, TRUST_PROXY_HINT } from './secrets-policy';

/** Composite decorators for env fields: one line per variable in the schemas. */
export const EnvInt = (min: number, max: number) =>
  applyDecorators(
    IsInt({ message: `must be an integer between ${min} and ${max}` }),
    Min(min, { message: `must be an integer between ${min} and ${max}` }),
    Max(max, { message: `must be an integer between ${min} and ${max}` }),
  );

export const EnvPort = () => EnvInt(0, 65535);

/** `secret`: refuse the placeholders published in .env.example and the docs. */
export const EnvString = (opts: { min?: number; max?: number; pattern?: RegExp; hint?: string; secret?: boolean } = {}) =>
  applyDecorators(
    // Registration order is check order (and only the first failure is reported).
    IsNotEmpty({ message: 'is required' }),
    IsString({ message: 'must be a string' }),
    ...(opts.min ? [MinLength(opts.min, { message: `must be at least ${opts.min} characters` })] : []),
    ...(opts.max ? [MaxLength(opts.max, { message: `must be at most ${opts.max} characters` })] : []),
    ...(opts.pattern ? [Matches(opts.pattern, { message: `must match ${opts.hint ?? opts.pattern}` })] : []),
    ...(opts.secret ? [NotPlaceholder()] : []),
  );

export const EnvOptionalString = (opts: { min?: number; max?: number; secret?: boolean } = {}) =>
  applyDecorators(
    IsOptional(),
    IsString({ message: 'must be a string' }),
    ...(opts.min ? [MinLength(opts.min, { message: `must be at least ${opts.min} characters when set` })] : []),
    ...(opts.max ? [MaxLength(opts.max, { message: `must be at most ${opts.max} characters` })] : []),
    ...(opts.secret ? [NotPlaceholder()] : []),
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

/** TRUST_PROXY: off, a hop count, or addresses / CIDRs (see parseTrustProxy). */
export const EnvTrustProxy = () =>
  applyDecorators(
    Transform(({ obj, key }) => {
      const raw = (obj as Record<string, unknown>)[key];
      return typeof raw === 'string' ? (parseTrustProxy(raw) ?? raw) : raw;
    }),
    ValidateBy({
      name: 'trustProxy',
      validator: { validate: (value: unknown) => typeof value !== 'string', defaultMessage: () => TRUST_PROXY_HINT },
    }),
  );

/**
 * The API_KEY of the read API and streams: optional, except with NODE_ENV=production, where
 * leaving them open must be said out loud (READ_API_OPEN=true) rather than happen by omission.
 */
export const EnvReadApiKey = () =>
  applyDecorators(
    ValidateIf(
      (env: { API_KEY?: string; NODE_ENV?: string; READ_API_OPEN?: boolean }) =>
        env.API_KEY !== undefined || (env.NODE_ENV === 'production' && env.READ_API_OPEN !== true),
    ),
    IsNotEmpty({ message: 'is required with NODE_ENV=production (or set READ_API_OPEN=true to leave the read API and streams open)' }),
    IsString({ message: 'must be a string' }),
    MinLength(16, { message: 'must be at least 16 characters when set' }),
    MaxLength(256, { message: 'must be at most 256 characters' }),
    NotPlaceholder(),
  );
