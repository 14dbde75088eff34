import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { BaseEnv } from '@md/config';
import { loggerOptions } from './logger-options';

export interface ObservabilityOptions {
  /** The service name on every log line and metric. */
  service: string;
  version?: string;
}

const QUIET_ROUTES = /^\/(health|metrics)(\/|\?|$)/;
const TRACE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A request URL as logged: stream tokens travel in the query string (EventSource cannot set headers). */
export function loggedUrl(url: string | undefined): string | undefined {
  return url?.replace(/([?&]token=)[^&]*/g, '$1[redacted]');
}

/** The trace id of a request: the caller's `x-request-id` when sane, else a new UUID. */
export function traceIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && TRACE_ID.test(given) ? given : randomUUID();
}

/**
 * The one logger and metrics set-up of every app: JSON logs (pretty only in development)
 * with `service` and `trace_id`, credentials redacted, health/metrics requests not logged,
 * successful requests logged only at debug level (the ingest path runs thousands a second);
 * Prometheus default metrics under /metrics with a `service` label.
 */
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [BaseEnv],
          useFactory: (env: BaseEnv) => ({
            pinoHttp: {
              ...loggerOptions(options.service, env, options.version),
              // The Fastify adapter has already set req.id (see createService).
              genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id?: string }).id ?? traceIdOf(req),
              customProps: (req: IncomingMessage) => ({ trace_id: (req as IncomingMessage & { id?: string }).id }),
              autoLogging: { ignore: (req: IncomingMessage) => QUIET_ROUTES.test(req.url ?? '') },
              customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
                error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug',
              serializers: {
                req: (req: { method: string; url: string }) => ({ method: req.method, url: loggedUrl(req.url) }),
                res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
                // pino-http turns every 5xx into an Error with a stack pointing at itself;
                // real exceptions are logged with their stack by HttpErrorFilter.
                // Call sites may log `err` as a message string; keep it as it is.
                err: (err: (Error & { type?: string }) | string) =>
                  typeof err === 'string' ? err : { type: err.type ?? err.name, message: err.message },
              },
            },
          }),
        }),
        PrometheusModule.register({
          path: '/metrics',
          // Once per process: a second app in the same process (tests) reuses them.
          defaultMetrics: { enabled: !register.getSingleMetric('process_cpu_user_seconds_total') },
          defaultLabels: { service: options.service },
        }),
      ],
      exports: [LoggerModule, PrometheusModule],
    };
  }
}
