/**
 * The dashboard server (Fastify): the built app, the proxy (proxy.ts), and its own routes:
 *   GET /status        → readiness of every service and the api's pipeline stats (status.ts)
 *   GET /config.json   → the public URLs the app links to or connects to
 *   /health/liveness, /health/readiness, /metrics
 * Any other method than GET/HEAD outside the proxy is 405. It never logs the key.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { DashboardEnv } from '@md/config';
import { loggerOptions, traceIdOf } from '@md/observability';
import { errorBody } from '@md/platform';
import { publicConfig, SERVICE } from './config';
import { DashboardMetrics } from './metrics';
import { registerProxy } from './proxy';
import { sendJson } from './reply';
import { registerStatic } from './static-files';
import { cachedStatus } from './status';

/** The build output: dist/apps/dashboard beside this bundle (dist/apps/dashboard-server), in the workspace and in the image alike. */
export const STATIC_DIR = resolve(__dirname, '../dashboard');

/** Route kind of a path, for the metrics label (bounded). */
function routeOf(pathname: string): string {
  if (pathname.startsWith('/api/')) return 'api';
  if (pathname === '/gw/stream/token') return 'stream_token';
  if (pathname.startsWith('/gw/')) return 'gateway';
  if (pathname === '/status' || pathname === '/config.json' || pathname === '/metrics') return pathname.slice(1).replace('.json', '');
  if (pathname.startsWith('/health/')) return 'health';
  return 'static';
}

export interface DashboardServer {
  app: FastifyInstance;
  log: FastifyBaseLogger;
}

/** The dashboard server, not yet listening (`app.listen`). */
export async function createDashboardServer(
  config: DashboardEnv,
  { staticDir = STATIC_DIR }: { staticDir?: string } = {},
): Promise<DashboardServer> {
  const metrics = new DashboardMetrics();
  const app = Fastify({
    logger: loggerOptions(SERVICE, config),
    // Requests are logged once, in onResponse below, at a level by status.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: traceIdOf,
    requestIdHeader: false,
    // Malformed URLs: the error shape of every answer of this server.
    frameworkErrors: (_error, _request, reply) => void sendJson(reply, 400, errorBody(400, 'malformed path')),
  });
  const log = app.log;
  const gatewayOrigin = /^https?:/.test(config.GATEWAY_PUBLIC_URL) ? ` ${new URL(config.GATEWAY_PUBLIC_URL).origin}` : '';
  const securityHeaders = {
    'content-security-policy':
      `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; ` +
      `connect-src 'self'${gatewayOrigin}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'`,
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };

  app.addHook('onResponse', async (request, reply) => {
    const pathname = request.url.split('?', 1)[0];
    const route = routeOf(pathname);
    metrics.request(route, reply.statusCode);
    if (route === 'health' || route === 'metrics') return;
    const fields = {
      req: { method: request.method, url: pathname },
      res: { statusCode: reply.statusCode },
      ms: Math.round(reply.elapsedTime),
      trace_id: request.id,
    };
    if (reply.statusCode >= 500) log.error(fields, 'request failed');
    else if (reply.statusCode >= 400) log.warn(fields, 'request refused');
    else log.debug(fields, 'request completed');
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) log.error({ err: error.stack, trace_id: request.id }, 'unexpected error');
    if (reply.sent) return reply.raw.destroy();
    return sendJson(reply, status, errorBody(status, status === 500 ? 'internal error' : error.message));
  });

  await registerProxy(app, { config, metrics, log });
  const serveStatic = await registerStatic(app, staticDir, securityHeaders);
  const status = cachedStatus(config);

  app.get('/health/liveness', (_request, reply) => sendJson(reply, 200, { status: 'ok' }));
  app.get('/health/readiness', async (_request, reply) => {
    // Ready once listening with a build to serve; the services behind it have their own probes (see /status).
    const index = await stat(join(staticDir, 'index.html')).catch(() => undefined);
    return index?.isFile()
      ? sendJson(reply, 200, { status: 'ok', details: { static: { status: 'up' } } })
      : sendJson(reply, 503, {
          status: 'error',
          details: { static: { status: 'down', message: 'index.html missing: build the dashboard' } },
        });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(await metrics.text()),
  );
  app.get('/config.json', (_request, reply) => sendJson(reply, 200, publicConfig(config)));
  app.get('/status', async (_request, reply) => sendJson(reply, 200, await status()));
  app.setNotFoundHandler(async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return sendJson(reply, 405, errorBody(405, 'method not allowed'), { allow: 'GET, HEAD' });
    return serveStatic(request, reply);
  });
  return { app, log };
}
