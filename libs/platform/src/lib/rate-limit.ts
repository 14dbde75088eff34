import { createHash } from 'node:crypto';
import { type DynamicModule, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';

/** Rate limits count requests per minute. */
export const RATE_WINDOW_MS = 60_000;

type Request = { headers?: Record<string, unknown>; query?: Record<string, unknown>; ip?: string; socket?: { remoteAddress?: string } };

/**
 * Whom a request counts against: its API key (hashed: keys never sit in memory as map keys
 * or in logs), else its stream token's nonce (one per browser session), else its address.
 * So one busy key cannot starve another, and unauthenticated callers are limited per address.
 */
export function rateLimitTracker(request: Request): string {
  const key = request.headers?.['x-api-key'];
  if (typeof key === 'string' && key) return `key:${createHash('sha256').update(key).digest('base64url').slice(0, 22)}`;
  const token = request.query?.['token'];
  if (typeof token === 'string' && token.split('.').length === 3) return `token:${token.split('.')[1].slice(0, 32)}`;
  return `ip:${request.ip ?? request.socket?.remoteAddress ?? 'unknown'}`;
}

/** @nestjs/throttler's guard with `rateLimitTracker`: 429 with Retry-After past the limit. */
@Injectable()
export class KeyedThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return rateLimitTracker(request as Request);
  }
}

/**
 * The throttler of an app: `perMinute` requests per tracker and minute on the routes guarded
 * by KeyedThrottlerGuard (0: no limit). In memory, so per replica: behind N replicas a
 * tracker gets up to N× the limit (a shared store would be Redis; see doc/security.md).
 */
export function rateLimitModule(perMinute: number): DynamicModule {
  return ThrottlerModule.forRoot({
    throttlers: [{ name: 'default', ttl: RATE_WINDOW_MS, limit: Math.max(perMinute, 1) }],
    skipIf: () => perMinute === 0,
  });
}
