import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';

/**
 * The internal listener: /internal/* (calc-b's views) is served on INTERNAL_PORT only, a port
 * deployments keep off the public network, and answered 404 on the public PORT as any unknown
 * route. Both listeners dispatch into the same Fastify instance (`fastify.routing`), so the
 * internal routes keep every hook, guard, pipe and filter of the app; a request's origin is
 * the mark the internal server sets on it, which no client header can forge.
 *
 * Which side a request belongs to is decided by the route Fastify MATCHED, never by the raw
 * request target: the router decodes percent-escapes and accepts absolute-form targets, so
 * `/%69nternal/agg-update` or `http://x/internal/agg-update` reach the internal controller
 * while their text does not start with `/internal`.
 */
const VIA_INTERNAL = Symbol('md.viaInternalListener');

const INTERNAL_PREFIX = '/internal';

type MarkedRequest = IncomingMessage & { [VIA_INTERNAL]?: true };

/** Whether a matched route (its registered path, e.g. `/internal/agg-update`) is internal. */
const isInternalRoute = (routeUrl: string) => routeUrl === INTERNAL_PREFIX || routeUrl.startsWith(`${INTERNAL_PREFIX}/`);

/**
 * In-flight requests (calc-b's posts) get this long to finish once the app closes; then the
 * remaining connections are cut so a stuck client cannot hold the shutdown (as the dashboard).
 */
export const INTERNAL_DRAIN_MS = 2_000;

/** The internal server of each Fastify instance (Nest's app object is a proxy: keyed on Fastify). */
const servers = new WeakMap<object, Server>();

/**
 * Installs the internal listener on a created (not yet listening) app: it starts listening on
 * `port` of `host` once Fastify is ready (so on app.listen) and closes with the app.
 */
export function installInternalListener(app: NestFastifyApplication, port: number, host: string): void {
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  const server = createServer((req: MarkedRequest, res) => {
    req[VIA_INTERNAL] = true;
    fastify.routing(req, res);
  });
  servers.set(fastify, server);

  // onRequest runs after routing (request.routeOptions is the matched route): /internal/* via
  // the public port, and anything else via the internal port (the public API, docs and admin
  // UI are not served twice), get the same 404 as a route that does not exist.
  fastify.addHook('onRequest', (request, reply, done) => {
    const routeUrl = request.routeOptions.url;
    if (routeUrl === undefined) {
      done(); // already the 404 handler
      return;
    }
    const viaInternal = (request.raw as MarkedRequest)[VIA_INTERNAL] === true;
    if (isInternalRoute(routeUrl) !== viaInternal) {
      reply.callNotFound();
      return;
    }
    done();
  });
  fastify.addHook('onReady', (done) => {
    server.once('error', done);
    server.listen(port, host, () => {
      server.off('error', done);
      done();
    });
  });
  fastify.addHook('onClose', (_instance, done) => {
    server.close(() => done());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), INTERNAL_DRAIN_MS).unref();
  });
}

/** Base URL of the internal listener (its real port when INTERNAL_PORT is 0), once listening. */
export function internalUrlOf(app: NestFastifyApplication): string {
  const address = servers.get(app.getHttpAdapter().getInstance())?.address() as AddressInfo | null | undefined;
  if (!address) throw new Error('the internal listener is not listening');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
}
