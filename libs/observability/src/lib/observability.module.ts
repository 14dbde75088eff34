import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DynamicModule, Inject, type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { Logger, PARAMS_PROVIDER_TOKEN, type Params, PinoLogger } from 'nestjs-pino';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { type DestinationStream, pino, type Logger as Pino, type LoggerOptions } from 'pino';
import { register } from 'prom-client';
import { BaseEnv } from '@md/config';
import { loggerOptions } from './logger-options';
import { type LoggedRequest, requestBindings, requestLogging } from './request-logging';

export interface ObservabilityOptions {
  /** The service name on every log line and metric. */
  service: string;
  version?: string;
  /** Where the lines go: stdout by default (a test passes a stream it reads). */
  destination?: DestinationStream;
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

/** The process's root pino logger: Nest's Logger writes through it, and so does the request middleware. */
const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * The one logger and metrics set-up of every app: JSON logs (pretty only in development)
 * with `service` and `trace_id`, credentials redacted, health/metrics requests not logged,
 * successful requests logged only at debug level (the ingest path runs thousands a second);
 * Prometheus default metrics under /metrics with a `service` label.
 *
 * nestjs-pino supplies Nest's Logger over the root logger; its pino-http middleware is not used
 * (it made two child loggers per request): requestLogging gives the lines written while serving
 * a request the same `req` and `trace_id`, and writes the same completion line.
 */
@Module({})
export class ObservabilityModule implements NestModule {
  constructor(@Inject(ROOT_LOGGER) private readonly root: Pino) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(
        requestLogging({
          logger: this.root,
          // The Fastify adapter has already set req.id (see createService).
          genReqId: traceIdOf,
          // originalUrl: inside a middleware mounted on every path, middie has cut req.url down to `/`.
          ignore: (req: LoggedRequest) => QUIET_ROUTES.test(req.originalUrl ?? req.url ?? ''),
          level: (_req: LoggedRequest, res: ServerResponse, error?: Error) =>
            error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug',
        }),
      )
      .forRoutes({ path: '*', method: RequestMethod.ALL });
  }

  static forRoot(options: ObservabilityOptions): DynamicModule {
    return {
      module: ObservabilityModule,
      global: true,
      providers: [
        {
          provide: ROOT_LOGGER,
          inject: [BaseEnv],
          useFactory: (env: BaseEnv): Pino => {
            const rootOptions: LoggerOptions = {
              ...loggerOptions(options.service, env, options.version),
              mixin: requestBindings,
              serializers: {
                req: (req: LoggedRequest) => ({ method: req.method, url: loggedUrl(req.originalUrl ?? req.url) }),
                res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
                // Real exceptions are logged with their stack by HttpErrorFilter; a 5xx's line names it only.
                // Call sites may log `err` as a message string; keep it as it is.
                err: (err: (Error & { type?: string }) | string) =>
                  typeof err === 'string' ? err : { type: err.type ?? err.name, message: err.message },
              },
            };
            return options.destination ? pino(rootOptions, options.destination) : pino(rootOptions);
          },
        },
        // What LoggerModule would register, minus its middleware: `logger` makes the root logger PinoLogger's.
        { provide: PARAMS_PROVIDER_TOKEN, inject: [ROOT_LOGGER], useFactory: (root: Pino): Params => ({ pinoHttp: { logger: root } }) },
        PinoLogger,
        Logger,
      ],
      imports: [
        PrometheusModule.register({
          path: '/metrics',
          // Once per process: a second app in the same process (tests) reuses them.
          defaultMetrics: { enabled: !register.getSingleMetric('process_cpu_user_seconds_total') },
          defaultLabels: { service: options.service },
        }),
      ],
      exports: [Logger, PinoLogger, PrometheusModule],
    };
  }
}
