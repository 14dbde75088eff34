import { Injectable } from '@nestjs/common';
import { GatewayEnv } from '@md/config';

/**
 * CORS limited to CORS_ORIGINS. Written by hand rather than through @fastify/cors because the
 * SSE responses are written on the raw socket, which needs the same headers.
 */
@Injectable()
export class CorsPolicy {
  private readonly origins: ReadonlySet<string>;

  constructor(env: GatewayEnv) {
    this.origins = new Set(env.CORS_ORIGINS.split(',').filter(Boolean));
  }

  allowed(origin: string | undefined): boolean {
    return origin !== undefined && this.origins.has(origin);
  }

  /** Response headers for a request from `origin` (none when it is not allowed). */
  headers(origin: string | undefined): Record<string, string> {
    if (!this.allowed(origin)) return { vary: 'Origin' };
    return { 'access-control-allow-origin': origin as string, vary: 'Origin' };
  }

  preflightHeaders(origin: string | undefined): Record<string, string> {
    if (!this.allowed(origin)) return { vary: 'Origin' };
    return {
      ...this.headers(origin),
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': 'x-api-key, last-event-id, content-type',
      'access-control-max-age': '600',
    };
  }

  /**
   * A WebSocket upgrade is not subject to CORS, so its Origin is checked here: none (not a
   * browser), the gateway's own host, or an allowed origin.
   */
  allowsSocket(origin: string | undefined, host: string | undefined): boolean {
    if (origin === undefined || this.allowed(origin)) return true;
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }
}
