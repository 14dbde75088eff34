import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { OrchestratorApiEnv } from '@md/config';
import { AuthFailureLimiter, ChallengeException, parseBasicAuth, secretEquals } from '@md/platform';
import { IngestMetrics } from './ingest.metrics';

/**
 * Basic Auth for the feeder. User and password are both compared, always, in constant
 * time over fixed-length digests; every failure is the same 401 whatever was wrong. A client
 * address past AUTH_FAILURES_PER_MIN failures this minute gets 429 before its credentials are
 * looked at; a valid request pays one map lookup for that.
 */
@Injectable()
export class BasicAuthGuard implements CanActivate {
  constructor(
    private readonly env: OrchestratorApiEnv,
    private readonly metrics: IngestMetrics,
    private readonly failures: AuthFailureLimiter,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    this.failures.check(request.ip, 'ingest');
    const credentials = parseBasicAuth(request.headers.authorization);
    const userOk = secretEquals(credentials?.user ?? '', this.env.INGEST_USERNAME);
    const passwordOk = secretEquals(credentials?.password ?? '', this.env.INGEST_PASSWORD);
    if (credentials && userOk && passwordOk) return true;
    this.failures.fail(request.ip, 'ingest');
    this.metrics.count('unauthorized');
    throw new ChallengeException('Basic realm="ingest", charset="UTF-8"');
  }
}
