import type { CanActivate, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AuthFailureLimiter, AuthRealm } from './auth-failures';
import { ChallengeException } from './errors';
import { setIdentity } from './rate-limit';

/**
 * The one gate of every shared-secret check (read API key, stream key, internal token, ingest
 * and admin Basic Auth): 429 for a source past AUTH_FAILURES_PER_MIN in the realm before its
 * credential is looked at, then the credential, then a counted 401 with the realm's challenge.
 * Each realm says only where its credential sits and how it is matched (SecretMatcher,
 * BasicAuthMatcher over digests computed once).
 */
export interface SecretCheck<R = FastifyRequest> {
  /** Where failures are counted. */
  realm: AuthRealm;
  /** `WWW-Authenticate` of the 401; its body is the same whatever was wrong. */
  challenge: string;
  /** What the request presents as its credential (a header, the Authorization value, …). */
  presented(request: R): unknown;
  /**
   * What that credential proves: an identity (the request's identity for KeyedThrottlerGuard,
   * which runs after the guard), true (valid, no identity of its own), or false.
   */
  verify(presented: unknown): string | boolean;
  /** Called on each 401, after the failure is counted (a realm's own metric). */
  onRefused?(): void;
}

/**
 * Passes a request through a check: returns what it proved, or throws TooManyFailuresException
 * (429, source blocked in the realm) or ChallengeException (401, counted). A valid request
 * costs one map lookup beyond the match.
 */
export function passSecretCheck<R>(failures: AuthFailureLimiter, check: SecretCheck<R>, address: string, request: R): string | true {
  failures.check(address, check.realm);
  const proved = check.verify(check.presented(request));
  if (proved !== false) return proved;
  failures.fail(address, check.realm);
  check.onRefused?.();
  throw new ChallengeException(check.challenge);
}

/**
 * A Nest guard over one SecretCheck: each guard is a subclass that builds its check from its
 * config in its constructor (so the secret is digested once), or passes undefined to leave the
 * route open (no secret configured). An identity it proves becomes the request's identity.
 */
export abstract class SecretGuard implements CanActivate {
  protected constructor(
    private readonly failures: AuthFailureLimiter,
    private readonly check: SecretCheck | undefined,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.check) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const proved = passSecretCheck(this.failures, this.check, request.ip, request);
    if (typeof proved === 'string') setIdentity(request, proved);
    return true;
  }
}
