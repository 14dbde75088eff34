import { Injectable } from '@nestjs/common';
import { OrchestratorApiEnv } from '@md/config';
import { AuthFailureLimiter, SecretGuard, SecretMatcher } from '@md/platform';

/**
 * Only the consumers may post views: `x-internal-token` must equal INTERNAL_TOKEN. A source past
 * AUTH_FAILURES_PER_MIN failures this minute gets 429 before its token is looked at, as on the
 * other realms, so the internal port is no place to guess the token either.
 */
@Injectable()
export class InternalTokenGuard extends SecretGuard {
  constructor(env: OrchestratorApiEnv, failures: AuthFailureLimiter) {
    const token = new SecretMatcher(env.INTERNAL_TOKEN);
    super(failures, {
      realm: 'internal',
      challenge: 'Token realm="internal"',
      presented: (request) => request.headers['x-internal-token'],
      verify: (presented) => token.matches(presented),
    });
  }
}
