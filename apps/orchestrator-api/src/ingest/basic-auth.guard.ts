import { Injectable } from '@nestjs/common';
import { OrchestratorApiEnv } from '@md/config';
import { AuthFailureLimiter, BasicAuthMatcher, SecretGuard } from '@md/platform';
import { IngestMetrics } from './ingest.metrics';

/**
 * Basic Auth for the feeder. User and password are both compared, always, in constant
 * time over fixed-length digests; every failure is the same 401 whatever was wrong. A client
 * address past AUTH_FAILURES_PER_MIN failures this minute gets 429 before its credentials are
 * looked at; a valid request pays one map lookup for that.
 */
@Injectable()
export class BasicAuthGuard extends SecretGuard {
  constructor(env: OrchestratorApiEnv, metrics: IngestMetrics, failures: AuthFailureLimiter) {
    const credentials = new BasicAuthMatcher(env.INGEST_USERNAME, env.INGEST_PASSWORD);
    super(failures, {
      realm: 'ingest',
      challenge: 'Basic realm="ingest", charset="UTF-8"',
      presented: (request) => request.headers.authorization,
      verify: (presented) => credentials.matches(presented),
      onRefused: () => metrics.count('unauthorized'),
    });
  }
}
