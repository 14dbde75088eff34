import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthFailureLimiter, ChallengeException, setIdentity } from '@md/platform';
import { StreamAuth } from './stream-auth';

/**
 * Auth of GET /stream, before its rate limit: the API key or a stream token. What it verified
 * is the identity KeyedThrottlerGuard then counts against; a failure counts toward
 * AUTH_FAILURES_PER_MIN for the client address (429 past it, before anything is checked).
 */
@Injectable()
export class StreamAccessGuard implements CanActivate {
  /** Whether only the key itself will do. */
  protected readonly keyOnly: boolean = false;

  constructor(
    private readonly auth: StreamAuth,
    private readonly failures: AuthFailureLimiter,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.auth.required) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    this.failures.check(request.ip, 'stream');
    const token = this.keyOnly ? undefined : (request.query as Record<string, unknown> | undefined)?.['token'];
    const identity = this.auth.identify(request.headers['x-api-key'], token);
    if (identity !== undefined) {
      setIdentity(request, identity);
      return true;
    }
    this.failures.fail(request.ip, 'stream');
    throw new ChallengeException('ApiKey header="x-api-key"');
  }
}

/** POST /stream/token: the API key itself (never a token: a token cannot buy another token). */
@Injectable()
export class StreamKeyGuard extends StreamAccessGuard {
  protected override readonly keyOnly: boolean = true;
}
