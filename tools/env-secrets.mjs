/**
 * Generated credentials, shared by `npm run demo` (.env.local) and `npm run compose:env` (.env
 * for docker compose): one generator, so both get the same kinds and lengths of secret, each
 * long enough for its schema (INGEST_PASSWORD >= 8, API_KEY and INTERNAL_TOKEN >= 16,
 * ADMIN_PASSWORD >= 12 characters) and URL-safe (POSTGRES_PASSWORD goes into PG_URL).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

/** n random bytes as base64url: letters, digits, - and _ only. */
export const secret = (n) => randomBytes(n).toString('base64url');

/** The demo's and compose's app credentials: variable → generator. */
export const GENERATED = {
  INGEST_USERNAME: () => 'demo',
  INGEST_PASSWORD: () => secret(12),
  API_KEY: () => secret(24),
  INTERNAL_TOKEN: () => secret(24),
  ADMIN_USERNAME: () => 'admin',
  ADMIN_PASSWORD: () => secret(12),
};

/** The same plus what only docker-compose.yml asks for (its PostgreSQL's password). */
export const COMPOSE_GENERATED = { ...GENERATED, POSTGRES_PASSWORD: () => secret(18) };

/** KEY=value lines of an env file (comments and blank lines skipped). */
export function parseEnvFile(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) env[match[1]] = match[2];
  }
  return env;
}

/**
 * Makes sure `path` holds a value for every key of `generated`: creates it (owner-only, 0600:
 * it holds credentials) with `header`, appends only the keys it lacks, never changes a value
 * that is there. Returns the file's variables and the keys it added.
 */
export function ensureEnvFile(path, generated, header) {
  if (!existsSync(path)) writeFileSync(path, header, { mode: 0o600 });
  chmodSync(path, 0o600);
  const env = parseEnvFile(readFileSync(path, 'utf8'));
  const added = Object.keys(generated).filter((key) => !env[key]);
  for (const key of added) env[key] = generated[key]();
  if (added.length > 0) appendFileSync(path, added.map((key) => `${key}=${env[key]}\n`).join(''));
  return { env, added };
}
