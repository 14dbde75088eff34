import { isIPv4, isIPv6 } from 'node:net';
import { ValidateBy } from 'class-validator';

/**
 * Values published in this repository's examples (.env.example, doc/deploy.md): a stack
 * started with one of them runs with credentials anyone can read, so a secret holding one is
 * refused at boot. Any value starting with "change-me"/"changeme" counts as one too.
 */
export const KNOWN_PLACEHOLDERS: readonly string[] = [
  'change-me-please',
  'change-me-internal-token',
  'change-me-ingest',
  'change-me-0123456789abcdef',
  'change-me-internal-0123',
  'change-me-admin',
  'change-me-pg',
];

const PLACEHOLDER_PATTERN = /^change-?me/i;

export function isPlaceholder(value: string): boolean {
  return KNOWN_PLACEHOLDERS.includes(value) || PLACEHOLDER_PATTERN.test(value);
}

/** Refuses a published placeholder in a secret variable. */
export const NotPlaceholder = () =>
  ValidateBy({
    name: 'notPlaceholder',
    validator: {
      validate: (value: unknown) => typeof value !== 'string' || !isPlaceholder(value),
      defaultMessage: () => 'is a published placeholder value: set a secret of your own',
    },
  });

/** A user name HTTP Basic Auth can carry: `user:password` splits at the first ':'. */
export const BasicAuthUser = () =>
  ValidateBy({
    name: 'basicAuthUser',
    validator: {
      validate: (value: unknown) => typeof value !== 'string' || !value.includes(':'),
      defaultMessage: () => 'must not contain ":" (HTTP Basic Auth cannot carry it in a user name)',
    },
  });

/**
 * Which proxies' X-Forwarded-For a service believes (Fastify's `trustProxy`): false (off: the
 * client is the peer address), a hop count, or addresses / CIDRs (and proxy-addr's names
 * loopback, linklocal, uniquelocal). Never `true`: that believes the left-most entry, which
 * the client writes.
 */
export type TrustProxy = false | number | string[];

export const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'] as const;
export const TRUST_PROXY_MAX_HOPS = 10;

/** The raw TRUST_PROXY string as a TrustProxy, or undefined when malformed. */
export function parseTrustProxy(raw: string): TrustProxy | undefined {
  const text = raw.trim();
  if (/^(false|off|0)$/i.test(text)) return false;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops >= 1 && hops <= TRUST_PROXY_MAX_HOPS ? hops : undefined;
  }
  const entries = text.split(',').map((entry) => entry.trim());
  return entries.length > 0 && entries.every(isTrustEntry) ? entries : undefined;
}

function isTrustEntry(entry: string): boolean {
  if ((TRUST_PROXY_NAMES as readonly string[]).includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  if (rest.length > 0) return false;
  const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0;
  if (max === 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max);
}

export const TRUST_PROXY_HINT = `must be false, a hop count 1-${TRUST_PROXY_MAX_HOPS}, or a comma-separated list of IP addresses / CIDRs (or ${TRUST_PROXY_NAMES.join(', ')})`;
