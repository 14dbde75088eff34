import { Inject, Injectable } from '@nestjs/common';
import { AuthFailureLimiter } from './auth-failures';
import { keyIdentity } from './rate-limit';
import { SecretGuard } from './secret-guard';
import { SecretMatcher } from './secrets';

/** The API key of the read API, or undefined when the deployment leaves it open. */
export const API_KEY = Symbol('API_KEY');

/**
 * `x-api-key` must equal the configured key (constant-time compare) when one is configured;
 * every failure is the same 401, and counts against the client address (429 past
 * AUTH_FAILURES_PER_MIN). A valid key becomes the request's identity for KeyedThrottlerGuard,
 * which runs after this guard.
 */
@Injectable()
export class ApiKeyGuard extends SecretGuard {
  constructor(@Inject(API_KEY) apiKey: string | undefined, failures: AuthFailureLimiter) {
    const key = apiKey ? new SecretMatcher(apiKey) : undefined;
    const identity = apiKey ? keyIdentity(apiKey) : '';
    super(
      failures,
      key && {
        realm: 'read',
        challenge: 'ApiKey header="x-api-key"',
        presented: (request) => request.headers['x-api-key'],
        verify: (presented) => (key.matches(presented) ? identity : false),
      },
    );
  }
}
