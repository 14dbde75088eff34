import { Injectable } from '@nestjs/common';
import { AuthFailureLimiter, SecretGuard, type SecretCheck } from '@md/platform';
import { StreamAuth } from './stream-auth';

/**
 * The stream realm's check: the API key in `x-api-key`, or (unless `keyOnly`) a stream token in
 * `?token=`; what it proves (see StreamAuth.identify) is the identity KeyedThrottlerGuard then
 * counts against. Undefined without API_KEY: the streams are open.
 */
function streamCheck(auth: StreamAuth, keyOnly: boolean): SecretCheck | undefined {
  if (!auth.required) return undefined;
  return {
    realm: 'stream',
    challenge: 'ApiKey header="x-api-key"',
    presented: (request) => ({
      key: request.headers['x-api-key'],
      token: keyOnly ? undefined : (request.query as Record<string, unknown> | undefined)?.['token'],
    }),
    verify: (presented) => {
      const { key, token } = presented as { key: unknown; token: unknown };
      return auth.identify(key, token) ?? false;
    },
  };
}

/**
 * Auth of GET /stream, before its rate limit: the API key or a stream token. A failure counts
 * toward AUTH_FAILURES_PER_MIN for the client address (429 past it, before anything is checked).
 */
@Injectable()
export class StreamAccessGuard extends SecretGuard {
  constructor(auth: StreamAuth, failures: AuthFailureLimiter) {
    super(failures, streamCheck(auth, false));
  }
}

/** POST /stream/token: the API key itself (never a token: a token cannot buy another token). */
@Injectable()
export class StreamKeyGuard extends SecretGuard {
  constructor(auth: StreamAuth, failures: AuthFailureLimiter) {
    super(failures, streamCheck(auth, true));
  }
}
