import { createHash } from 'node:crypto';
import { type DynamicModule, Global, Injectable, Module } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { AUTH_FAILURES_PER_MIN, AuthFailureLimiter } from './auth-failures';
import { addressSource, plainAddress } from './client-address';

/** Rate limits count requests per minute. */
export const RATE_WINDOW_MS = 60_000;

type Request = { ip?: string; socket?: { remoteAddress?: string } };

/** Where an auth guard leaves who the request proved to be, for the rate limit after it. */
const IDENTITY = Symbol.for('md.authenticated-identity');

/** Records the identity a request proved (a verified key or token); only auth guards call this. */
export function setIdentity(request: object, identity: string): void {
  (request as Record<symbol, string>)[IDENTITY] = identity;
}

export function identityOf(request: object): string | undefined {
  return (request as Record<symbol, string | undefined>)[IDENTITY];
}

/** The identity of a verified API key: hashed, so keys never sit in memory as map keys or in logs. */
export function keyIdentity(key: string): string {
  return `key:${createHash('sha256').update(key).digest('base64url').slice(0, 22)}`;
}

/**
 * Whom a request counts against: the identity its auth guard verified (never a header or
 * token merely sent) at the client address, else the client address alone. The address is
 * Fastify's `request.ip`: the peer, or what TRUST_PROXY lets X-Forwarded-For say. With the
 * address in the tracker, the one API key the dashboard server sends for all its visitors is
 * not one budget they share: behind a trusted dashboard each visitor has their own.
 */
export function trackerOf(identity: string | undefined, address: string): string {
  // IPv6 by /64 and v4-mapped unmapped (addressSource): a /64 holder is one visitor, not 2^64.
  const source = addressSource(address);
  return identity ? `${identity}@${source}` : `ip:${source}`;
}

export function rateLimitTracker(request: Request): string {
  return trackerOf(identityOf(request), request.ip ?? plainAddress(request.socket?.remoteAddress ?? 'unknown'));
}

/**
 * @nestjs/throttler's guard with `rateLimitTracker`: 429 with Retry-After past the limit.
 * List it AFTER the route's auth guard, which sets the identity it counts against.
 */
@Injectable()
export class KeyedThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return rateLimitTracker(request as Request);
  }
}

@Global()
@Module({})
class RateLimitModule {}

/**
 * The limits of an app, global: `perMinute` requests per tracker and minute on the routes
 * guarded by KeyedThrottlerGuard (0: no limit), and the AuthFailureLimiter of its auth guards
 * (`authFailuresPerMin` failures per client address and minute). In memory, so per replica:
 * behind N replicas a tracker gets up to N× the limit (a shared store would be Redis; see
 * doc/security.md).
 */
export function rateLimitModule(perMinute: number, authFailuresPerMin: number): DynamicModule {
  return {
    module: RateLimitModule,
    imports: [
      ThrottlerModule.forRoot({
        throttlers: [{ name: 'default', ttl: RATE_WINDOW_MS, limit: Math.max(perMinute, 1) }],
        skipIf: () => perMinute === 0,
      }),
    ],
    providers: [{ provide: AUTH_FAILURES_PER_MIN, useValue: authFailuresPerMin }, AuthFailureLimiter],
    exports: [ThrottlerModule, AuthFailureLimiter],
  };
}
