/**
 * The metrics this server owns, in a registry of its own (one per server: tests run several
 * in one process). Bounded labels only: route kind, status class, upstream.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { SERVICE } from './config';
import type { LimitedRoute } from './limits';

export type Upstream = 'api' | 'gateway';

export class DashboardMetrics {
  readonly registry = new Registry();
  private readonly service = { service: SERVICE };
  private readonly requests = new Counter({
    name: 'md_dashboard_requests_total',
    help: 'Requests answered by the dashboard server, by route kind and status class',
    labelNames: ['service', 'route', 'status'],
    registers: [this.registry],
  });
  private readonly proxyErrors = new Counter({
    name: 'md_dashboard_proxy_errors_total',
    help: 'Proxied requests that got no answer from their upstream (answered 502), by upstream',
    labelNames: ['service', 'upstream'],
    registers: [this.registry],
  });
  private readonly rateLimited = new Counter({
    name: 'md_dashboard_rate_limited_total',
    help: 'Requests answered 429: the visitor passed VISITOR_API_PER_MIN (api), VISITOR_TOKENS_PER_MIN (stream_token) or VISITOR_STREAMS_PER_MIN (gateway)',
    labelNames: ['service', 'route'],
    registers: [this.registry],
  });
  private readonly streamsOpen = new Gauge({
    name: 'md_dashboard_streams_open',
    help: 'Event streams proxied to the gateway right now',
    labelNames: ['service'],
    registers: [this.registry],
  });

  constructor() {
    // Every series from the start, at 0: a rate over a series that appears late misses its first step.
    for (const upstream of ['api', 'gateway'] as const) this.proxyErrors.inc({ ...this.service, upstream }, 0);
    for (const route of ['api', 'stream_token', 'gateway'] as const) this.rateLimited.inc({ ...this.service, route }, 0);
    this.streamsOpen.set(this.service, 0);
  }

  request(route: string, status: number): void {
    this.requests.inc({ ...this.service, route, status: `${Math.floor(status / 100)}xx` });
  }

  proxyError(upstream: Upstream): void {
    this.proxyErrors.inc({ ...this.service, upstream });
  }

  limited(route: LimitedRoute): void {
    this.rateLimited.inc({ ...this.service, route });
  }

  streamOpened(): void {
    this.streamsOpen.inc(this.service);
  }

  streamClosed(): void {
    this.streamsOpen.dec(this.service);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
