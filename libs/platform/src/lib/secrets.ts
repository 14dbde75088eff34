import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The one way a shared secret (API key, internal token, Basic Auth user and password) is
 * compared: over fixed-length digests, in constant time.
 */

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Compares a supplied secret with the expected one in time independent of where they
 * differ and of their lengths: both are hashed to fixed-length digests first.
 */
export function secretEquals(supplied: string, expected: string): boolean {
  return timingSafeEqual(digest(supplied), digest(expected));
}

/**
 * One configured secret, digested once when the process starts; `matches` then costs one digest
 * of what was presented. Anything but a non-empty string proves nothing (every configured
 * secret is non-empty, so nothing is lost; the compare still runs, so absence is not faster).
 */
export class SecretMatcher {
  private readonly expected: Buffer;

  constructor(secret: string) {
    this.expected = digest(secret);
  }

  matches(presented: unknown): boolean {
    const supplied = typeof presented === 'string' ? presented : '';
    return timingSafeEqual(digest(supplied), this.expected) && supplied.length > 0;
  }
}

/**
 * HTTP Basic credentials: user and password are both compared, always, whatever the header
 * held, so the answer takes as long whichever was wrong.
 */
export class BasicAuthMatcher {
  private readonly user: SecretMatcher;
  private readonly password: SecretMatcher;

  constructor(username: string, password: string) {
    this.user = new SecretMatcher(username);
    this.password = new SecretMatcher(password);
  }

  /** Whether an `Authorization` header value carries these credentials. */
  matches(authorization: unknown): boolean {
    const credentials = parseBasicAuth(typeof authorization === 'string' ? authorization : undefined);
    const userOk = this.user.matches(credentials?.user);
    const passwordOk = this.password.matches(credentials?.password);
    return credentials !== undefined && userOk && passwordOk;
  }
}

/** `user:password` from an `Authorization: Basic …` header, or undefined if malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (!header || header.length > 1024) return undefined;
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
