import type { IncomingMessage } from 'node:http';
import { ConsoleLogger, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import helmet from '@fastify/helmet';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { Logger } from 'nestjs-pino';
import { installHttpMetrics, traceIdOf } from '@md/observability';
import type { BaseEnv, TrustProxy } from '@md/config';

export interface ServiceOptions {
  /** Largest accepted request body in bytes (Fastify answers 413 above it). */
  bodyLimit?: number;
  /** Per-route body limits, by route URL, for routes that legitimately take more. */
  routeBodyLimits?: Record<string, number>;
  /** Whose X-Forwarded-For sets `request.ip` (TRUST_PROXY); default off: the peer address. */
  trustProxy?: TrustProxy;
}

/**
 * Creates a Nest app on the Fastify adapter with the house set-up: pino logger, JSON-only
 * bodies, one request id, HTTP metrics, shutdown hooks. (Fastify-level errors such as bad
 * JSON, 413 and 415 reach Nest's filters as HttpExceptions, so HttpErrorFilter shapes them.) The caller adds Swagger, then calls `listen`.
 */
export async function createService(module: Type<unknown> | ReturnType<typeof Object>, options: ServiceOptions = {}) {
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // request.ip is the peer unless TRUST_PROXY names the proxies in front (never `true`,
    // which would believe the client-written left end of X-Forwarded-For).
    trustProxy: options.trustProxy ?? false,
    // One id per request for Fastify, pino-http and the tick's trace: the caller's
    // x-request-id or a UUID, also set on the raw request, where pino-http looks for it.
    genReqId: (raw: IncomingMessage) => {
      const id = traceIdOf(raw);
      (raw as IncomingMessage & { id?: string }).id = id;
      return id;
    },
    // A JSON body with __proto__ or constructor.prototype keys is refused (400), not parsed.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  const fastify = adapter.getInstance() as unknown as FastifyInstance;
  const limits = options.routeBodyLimits ?? {};
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const limit = limits[route.url];
    if (limit !== undefined) route.bodyLimit = limit;
  });
  // JSON only: Fastify's default text/plain parser would hand strings to the validators;
  // without it, any other content type is answered 415.
  fastify.removeContentTypeParser('text/plain');
  installHttpMetrics(fastify);

  const app = await NestFactory.create<NestFastifyApplication>(module as Type<unknown>, adapter, {
    // Nest's own start-up lines wait in a buffer for the pino logger (useLogger below). When
    // start-up fails before that (a provider that cannot be built), Nest flushes them to this
    // logger instead: JSON too, so a container's log is JSON from its first line.
    logger: new ConsoleLogger({ json: true }),
    bufferLogs: true,
    // Fastify parses JSON by itself; Nest's body parsers would add urlencoded forms.
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  // helmet's security headers on every answer (nosniff, frame denial, HSTS, no referrer…). No
  // Content-Security-Policy: the apps answer JSON, and their HTML pages (Swagger UI, the
  // queue admin) are third-party UIs that need inline code.
  await app.register(helmet as unknown as Parameters<NestFastifyApplication['register']>[0], { contentSecurityPolicy: false });
  return app;
}

export async function listen(app: INestApplication, env: BaseEnv): Promise<string> {
  await app.listen(env.PORT, env.HOST);
  return app.getUrl();
}
