import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { OrchestratorApiEnv } from '@md/config';
import { ChallengeException, parseBasicAuth, secretEquals } from '@md/platform';
import { IngestMetrics } from './ingest.metrics';

/**
 * Basic Auth for the feeder. User and password are both compared, always, in constant
 * time over fixed-length digests; every failure is the same 401 whatever was wrong.
 */
@Injectable()
export class BasicAuthGuard implements CanActivate {
  constructor(
    private readonly env: OrchestratorApiEnv,
    private readonly metrics: IngestMetrics,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const credentials = parseBasicAuth(request.headers.authorization);
    const userOk = secretEquals(credentials?.user ?? '', this.env.INGEST_USERNAME);
    const passwordOk = secretEquals(credentials?.password ?? '', this.env.INGEST_PASSWORD);
    if (credentials && userOk && passwordOk) return true;
    this.metrics.count('unauthorized');
    throw new ChallengeException('Basic realm="ingest", charset="UTF-8"');
  }
}
