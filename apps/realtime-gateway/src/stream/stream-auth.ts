import { createHmac, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { GatewayEnv } from '@md/config';
import { SecretMatcher, secretEquals } from '@md/platform';

/**
 * Who may open a stream: anyone when no API_KEY is configured; otherwise a request with the
 * key in `x-api-key`, or with a stream token from POST /stream/token in `?token=` — because a
 * browser's EventSource cannot set headers, and the raw key must never sit in a URL (logs,
 * history, Referer).
 *
 * A token is `<expiry ms, base36>.<nonce>.<HMAC-SHA256>` under a key derived from API_KEY:
 * stateless, so any replica sharing the key accepts it. It is checked when a stream connects;
 * a stream already open is not cut when its token expires.
 */
@Injectable()
export class StreamAuth {
  private readonly signingKey: Buffer;
  private readonly key: SecretMatcher | undefined;

  constructor(private readonly env: GatewayEnv) {
    this.key = env.API_KEY ? new SecretMatcher(env.API_KEY) : undefined;
    this.signingKey = env.API_KEY ? createHmac('sha256', env.API_KEY).update('md stream token v1').digest() : randomBytes(32);
  }

  get required(): boolean {
    return this.env.API_KEY !== undefined;
  }

  keyAllows(header: unknown): boolean {
    return !this.key || this.key.matches(header);
  }

  allows(header: unknown, token: unknown): boolean {
    return this.identify(header, token) !== undefined;
  }

  /**
   * Who a stream request proved to be, for the rate limit that follows: the key, or one
   * verified token (its nonce); 'open' without API_KEY; undefined when it proved nothing.
   */
  identify(header: unknown, token: unknown): string | undefined {
    if (!this.env.API_KEY) return 'open';
    if (this.keyAllows(header)) return 'key';
    if (typeof token === 'string' && this.verify(token)) return `token:${token.split('.')[1]}`;
    return undefined;
  }

  issue(now = Date.now()): { token: string; expiresAt: number } {
    const expiresAt = now + this.env.STREAM_TOKEN_TTL_S * 1000;
    const body = `${expiresAt.toString(36)}.${randomBytes(12).toString('base64url')}`;
    return { token: `${body}.${this.sign(body)}`, expiresAt };
  }

  verify(token: string, now = Date.now()): boolean {
    if (token.length > 200) return false;
    const parts = token.split('.');
    if (parts.length !== 3) return false;
    const body = `${parts[0]}.${parts[1]}`;
    // Signature first, in constant time; only then believe the expiry.
    if (!secretEquals(parts[2], this.sign(body))) return false;
    const expiresAt = parseInt(parts[0], 36);
    return Number.isFinite(expiresAt) && expiresAt > now;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.signingKey).update(body).digest('base64url');
  }
}
