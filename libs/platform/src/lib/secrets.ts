import { createHash, timingSafeEqual } from 'node:crypto';

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
