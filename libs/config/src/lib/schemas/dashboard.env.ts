import { Transform } from 'class-transformer';
import { ValidateBy } from 'class-validator';
import { EnvInt, EnvOptionalString, EnvTrustProxy } from '../decorators';
import type { TrustProxy } from '../secrets-policy';
import { BaseEnv } from './service.env';

/**
 * A http(s) URL without trailing slashes, or a bare host:port read as http://host:port (what
 * a Render blueprint's `hostport` gives); undefined when it is neither.
 */
export function httpUrlOf(value: string): string | undefined {
  const text = /^[^/:]+:\d+$/.test(value) ? `http://${value}` : value;
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? text.replace(/\/+$/, '') : undefined;
  } catch {
    return undefined;
  }
}

/** A path of this origin (`/gw`, trailing slashes dropped), or a http(s) URL as httpUrlOf reads it. */
function pathOrUrlOf(value: string): string | undefined {
  return /^\/[A-Za-z0-9._~\-/]*$/.test(value) ? value.replace(/(.)\/+$/, '$1') : httpUrlOf(value);
}

/** Reads the raw string through `read`; a value it refuses stays a string-typed marker the validator names. */
const EnvHttp = (read: (value: string) => string | undefined, message: string) => (target: object, key: string) => {
  Transform(({ obj }) => {
    const raw = (obj as Record<string, unknown>)[key];
    return typeof raw === 'string' ? (read(raw) ?? { invalid: true }) : raw;
  })(target, key);
  ValidateBy({ name: 'httpUrl', validator: { validate: (value: unknown) => typeof value === 'string', defaultMessage: () => message } })(
    target,
    key,
  );
};

/**
 * The dashboard's server (apps/dashboard/server): the built web app, and the proxy that adds
 * API_KEY to what the browser may ask of the api and the gateway. It holds no store.
 */
export class DashboardEnv extends BaseEnv {
  override PORT: number = 5173;

  @EnvHttp(httpUrlOf, 'must be a http/https:// URL')
  API_URL: string = 'http://127.0.0.1:3000';

  @EnvHttp(httpUrlOf, 'must be a http/https:// URL')
  GATEWAY_URL: string = 'http://127.0.0.1:3001';

  @EnvHttp(httpUrlOf, 'must be a http/https:// URL')
  CONSUMERS_URL: string = 'http://127.0.0.1:3002';

  @EnvHttp(httpUrlOf, 'must be a http/https:// URL')
  FEEDER_URL: string = 'http://127.0.0.1:3003';

  /** The api's and the gateway's API_KEY, added server-side; unset when they run open. */
  @EnvOptionalString({ min: 16, max: 256, secret: true })
  API_KEY?: string;

  /** Where browsers reach the gateway's stream: this server's /gw proxy, or the gateway's own public URL. */
  @EnvHttp(pathOrUrlOf, 'must be a path starting with / or a http/https:// URL')
  GATEWAY_PUBLIC_URL: string = '/gw';

  /** Where browsers reach the api's docs and queue admin UI (links only). */
  @EnvHttp(httpUrlOf, 'must be a http/https:// URL')
  API_PUBLIC_URL: string = 'http://localhost:3000';

  /** Whose X-Forwarded-For to believe for the visitor's address (the limits below): off by default. */
  @EnvTrustProxy()
  TRUST_PROXY: TrustProxy = false;

  /** /api/* requests per visitor (client address, IPv6 by /64) and minute before 429. */
  @EnvInt(1, 1_000_000)
  VISITOR_API_PER_MIN: number = 600;

  /** Stream token requests per visitor and minute before 429. */
  @EnvInt(1, 1_000_000)
  VISITOR_TOKENS_PER_MIN: number = 60;

  /** Event streams opened per visitor and minute before 429. */
  @EnvInt(1, 1_000_000)
  VISITOR_STREAMS_PER_MIN: number = 60;
}
