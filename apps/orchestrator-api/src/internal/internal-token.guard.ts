import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { OrchestratorApiEnv } from '@md/config';
import { AuthFailureLimiter, ChallengeException, secretEquals } from '@md/platform';

/**
 * Only the consumers may post views: `x-internal-token` must equal INTERNAL_TOKEN. A source past
 * AUTH_FAILURES_PER_MIN failures this minute gets 429 before its token is looked at, as on the
 * other realms, so the internal port is no place to guess the token either.
 */
@Injectable()
export class InternalTokenGuard implements CanActivate {
  constructor(
    private readonly env: OrchestratorApiEnv,
    private readonly failures: AuthFailureLimiter,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    this.failures.check(request.ip, 'internal');
    const header = request.headers['x-internal-token'];
    const supplied = typeof header === 'string' ? header : '';
    if (secretEquals(supplied, this.env.INTERNAL_TOKEN) && supplied.length > 0) return true;
    this.failures.fail(request.ip, 'internal');
    throw new ChallengeException('Token realm="internal"');
  }
}
