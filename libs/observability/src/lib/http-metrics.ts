import type { FastifyInstance } from 'fastify';
import { Histogram, register } from 'prom-client';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Request duration by route template (bounded labels: never a raw URL), taken in a Fastify
 * onResponse hook, which costs less per request than a Nest interceptor.
 */
export function installHttpMetrics(fastify: FastifyInstance): void {
  const histogram =
    (register.getSingleMetric('md_http_request_duration_seconds') as Histogram<string> | undefined) ??
    new Histogram({
      name: 'md_http_request_duration_seconds',
      help: 'HTTP request duration from arrival to response, by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: BUCKETS,
    });
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    histogram.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
}
