import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Counter, register } from 'prom-client';
import { addressSource } from './client-address';

/** Failed authentications per source and minute before 429 (AUTH_FAILURES_PER_MIN). */
export const AUTH_FAILURES_PER_MIN = Symbol('AUTH_FAILURES_PER_MIN');

/** Failures are counted in fixed windows of a minute. */
const WINDOW_MS = 60_000;

/** Where a credential is checked: a bounded label. */
export type AuthRealm = 'ingest' | 'admin' | 'read' | 'stream' | 'internal';

/**
 * Sources (realm and address) remembered at most. Past it, expired entries are swept, then the
 * oldest source that is not blocked is dropped (a blocked one only when all are blocked):
 * memory stays bounded whatever an attacker sends, and cycling addresses does not unblock one.
 */
export const AUTH_FAILURE_SOURCES_MAX = 50_000;

function failuresCounter(): Counter<string> {
  return (
    (register.getSingleMetric('md_auth_failures_total') as Counter<string> | undefined) ??
    new Counter({
      name: 'md_auth_failures_total',
      help: 'Failed authentications by realm (ingest, admin, read, stream, internal) and outcome: refused (401) or blocked (429, over AUTH_FAILURES_PER_MIN)',
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

type Entry = { count: number; resetAt: number };

/**
 * Failed authentications per realm and source (the client address after TRUST_PROXY, by
 * addressSource) in fixed one-minute windows. A source past AUTH_FAILURES_PER_MIN in a realm
 * gets 429 in THAT realm for the rest of its window before its credentials are even looked
 * at, so guessing stops there and a right guess cannot be told from a wrong one (a valid key
 * from a blocked source is refused too: that is the price of not leaking the right guess).
 * Realms are counted apart, so wrong ingest or admin credentials from an address (e.g. a
 * dashboard server all its visitors share) never block the read API or the streams of that
 * address. A valid request costs one map lookup (`check`); only failures write. In memory, so
 * per replica, like the request rate limits.
 */
@Injectable()
export class AuthFailureLimiter {
  /** Sources still under the limit, in the order their windows started (= expire). */
  private readonly counting = new Map<string, Entry>();
  /** Sources at the limit, in the order they got there; evicted only when nothing else can be. */
  private readonly blocked = new Map<string, Entry>();
  private readonly counter = failuresCounter();

  constructor(@Inject(AUTH_FAILURES_PER_MIN) private readonly perMinute: number) {}

  /** Throws 429 when this source is blocked in this realm; call before checking its credentials. */
  check(address: string, realm: AuthRealm, now = Date.now()): void {
    const entry = this.blocked.get(keyOf(realm, address));
    if (entry === undefined || entry.resetAt <= now) return;
    this.counter.inc({ realm, outcome: 'blocked' });
    throw new TooManyFailuresException(Math.max(1, Math.ceil((entry.resetAt - now) / 1000)));
  }

  /** Counts a failed authentication of this source in this realm. */
  fail(address: string, realm: AuthRealm, now = Date.now()): void {
    this.counter.inc({ realm, outcome: 'refused' });
    const key = keyOf(realm, address);
    const entry = this.counting.get(key) ?? this.blocked.get(key);
    if (entry && entry.resetAt > now) {
      entry.count += 1;
      if (entry.count >= this.perMinute && this.counting.delete(key)) this.blocked.set(key, entry);
      return;
    }
    if (entry) {
      this.counting.delete(key);
      this.blocked.delete(key);
    } else if (this.size >= AUTH_FAILURE_SOURCES_MAX) this.evict(now);
    const fresh = { count: 1, resetAt: now + WINDOW_MS };
    (fresh.count >= this.perMinute ? this.blocked : this.counting).set(key, fresh);
  }

  /** Sources remembered (for tests and the bound). */
  get size(): number {
    return this.counting.size + this.blocked.size;
  }

  /**
   * Makes room for one: drops expired entries from the front of both maps, then, if still
   * full, the oldest source that is not blocked, and only when every remembered source is
   * blocked the oldest blocked one (the one whose block ends first). Evicting a blocked
   * source would let it guess again at once, so an attacker cycling fresh addresses pushes
   * out only other not-yet-blocked sources. Cost: what it drops.
   */
  private evict(now: number): void {
    for (const map of [this.counting, this.blocked]) {
      for (const [key, entry] of map) {
        if (entry.resetAt > now) break;
        map.delete(key);
      }
    }
    if (this.size < AUTH_FAILURE_SOURCES_MAX) return;
    const victims = this.counting.size > 0 ? this.counting : this.blocked;
    const oldest = victims.keys().next();
    if (!oldest.done) victims.delete(oldest.value);
  }
}

function keyOf(realm: AuthRealm, address: string): string {
  return `${realm}|${addressSource(address)}`;
}
