import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { OrchestratorApiEnv } from '@md/config';
import { ChallengeException, secretEquals } from '@md/platform';

/** Only the consumers may post views: `x-internal-token` must equal INTERNAL_TOKEN. */
@Injectable()
export class InternalTokenGuard implements CanActivate {
  constructor(private readonly env: OrchestratorApiEnv) {}

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers['x-internal-token'];
    const supplied = typeof header === 'string' ? header : '';
    if (secretEquals(supplied, this.env.INTERNAL_TOKEN) && supplied.length > 0) return true;
    throw new ChallengeException('Token realm="internal"');
  }
}
