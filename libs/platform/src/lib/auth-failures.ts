import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Counter, register } from 'prom-client';
import { isIPv6 } from 'node:net';

/** Failed authentications per source and minute before 429 (AUTH_FAILURES_PER_MIN). */
export const AUTH_FAILURES_PER_MIN = Symbol('AUTH_FAILURES_PER_MIN');

/** Failures are counted in fixed windows of a minute. */
const WINDOW_MS = 60_000;

/** Where a credential is checked: a bounded label. */
export type AuthRealm = 'ingest' | 'admin' | 'read' | 'stream';

/**
 * Sources remembered at most. Past it, expired entries are swept, then the oldest dropped: an
 * attacker needs this many addresses at once to reset one of them early, and memory stays
 * bounded whatever they send.
 */
export const AUTH_FAILURE_SOURCES_MAX = 50_000;

function failuresCounter(): Counter<string> {
  return (
    (register.getSingleMetric('md_auth_failures_total') as Counter<string> | undefined) ??
    new Counter({
      name: 'md_auth_failures_total',
      help: 'Failed authentications by realm (ingest, admin, read, stream) and outcome: refused (401) or blocked (429, over AUTH_FAILURES_PER_MIN)',
      labelNames: ['realm', 'outcome'],
    })
  );
}

/** 429 with Retry-After: too many failed authentications from this source this minute. */
export class TooManyFailuresException extends HttpException {
  constructor(readonly retryAfterS: number) {
    super('too many failed authentications: try again later', HttpStatus.TOO_MANY_REQUESTS);
  }
}

/** An IPv6 client usually holds a whole /64: count it as one source. */
export function failureSourceOf(address: string): string {
  if (!isIPv6(address)) return address;
  const [head] = address.split('::');
  const groups = address.includes('::') ? head.split(':').filter(Boolean) : address.split(':');
  return `${[...groups, '0', '0', '0', '0'].slice(0, 4).join(':')}::/64`;
}

/**
 * Failed authentications per source (the client address, after TRUST_PROXY) in fixed
 * one-minute windows. A source past AUTH_FAILURES_PER_MIN gets 429 for the rest of its window
 * before its credentials are even looked at, so guessing stops there and a right guess cannot
 * be told from a wrong one. A valid request costs one map lookup (`check`); only failures
 * write. In memory, so per replica, like the request rate limits.
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();
  private readonly counter = failuresCounter();

  constructor(@Inject(AUTH_FAILURES_PER_MIN) private readonly perMinute: number) {}

  /** Throws 429 when this source is blocked; call before checking its credentials. */
  check(address: string, realm: AuthRealm, now = Date.now()): void {
    const entry = this.failures.get(failureSourceOf(address));
    if (entry === undefined || entry.count < this.perMinute || entry.resetAt <= now) return;
    this.counter.inc({ realm, outcome: 'blocked' });
    throw new TooManyFailuresException(Math.max(1, Math.ceil((entry.resetAt - now) / 1000)));
  }

  /** Counts a failed authentication of this source. */
  fail(address: string, realm: AuthRealm, now = Date.now()): void {
    this.counter.inc({ realm, outcome: 'refused' });
    const source = failureSourceOf(address);
    const entry = this.failures.get(source);
    if (entry && entry.resetAt > now) {
      entry.count += 1;
      return;
    }
    if (entry) this.failures.delete(source);
    else if (this.failures.size >= AUTH_FAILURE_SOURCES_MAX) this.evict(now);
    this.failures.set(source, { count: 1, resetAt: now + WINDOW_MS });
  }

  /**
   * Entries are (re)inserted when their window starts, so the Map's order is that of their
   * expiry: drop from the front while expired, or while still full. Cost: what it drops.
   */
  private evict(now: number): void {
    for (const [source, entry] of this.failures) {
      if (entry.resetAt > now && this.failures.size < AUTH_FAILURE_SOURCES_MAX) break;
      this.failures.delete(source);
    }
  }
}
