import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthFailureLimiter } from './auth-failures';
import { ChallengeException } from './errors';
import { keyIdentity, setIdentity } from './rate-limit';
import { secretEquals } from './secrets';

/** The API key of the read API, or undefined when the deployment leaves it open. */
export const API_KEY = Symbol('API_KEY');

/**
 * `x-api-key` must equal the configured key (constant-time compare) when one is configured;
 * every failure is the same 401, and counts against the client address (429 past
 * AUTH_FAILURES_PER_MIN). A valid key becomes the request's identity for KeyedThrottlerGuard,
 * which runs after this guard.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly identity: string | undefined;

  constructor(
    @Inject(API_KEY) private readonly apiKey: string | undefined,
    private readonly failures: AuthFailureLimiter,
  ) {
    this.identity = apiKey ? keyIdentity(apiKey) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.apiKey || !this.identity) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    this.failures.check(request.ip, 'read');
    const header = request.headers['x-api-key'];
    if (typeof header === 'string' && secretEquals(header, this.apiKey)) {
      setIdentity(request, this.identity);
      return true;
    }
    this.failures.fail(request.ip, 'read');
    throw new ChallengeException('ApiKey header="x-api-key"');
  }
}
