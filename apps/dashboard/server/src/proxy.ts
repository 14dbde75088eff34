/**
 * The proxy (@fastify/http-proxy): only what the app calls, with API_KEY added server-side.
 *
 *   GET/HEAD /api/symbols, /api/symbols/:id, /api/symbols/:id/{candles,history} → API_URL, with the key
 *   POST /gw/stream/token → GATEWAY_URL/stream/token, with the key: a short-lived stream token
 *   GET /gw/stream        → GATEWAY_URL/stream, WITHOUT the key (the browser sends its token), unbuffered
 *
 * Any other /api or /gw path is 404, any other method 405, so the shared key and this server's
 * address never carry a visitor's write or admin request upstream. The visitor's credentials
 * (Authorization, Cookie, x-api-key) are never forwarded: upstream, a request from this server
 * counts against this server's address, so a visitor's wrong key would spend
 * AUTH_FAILURES_PER_MIN for everybody, and the cookies are for this origin. The visitor's
 * address, as this server resolved it, goes upstream as the whole X-Forwarded-For (what it did
 * not believe is dropped), so an upstream trusting one hop from here limits each visitor too.
 * A redirect is never followed: it goes back to the browser, without the key.
 */
import type { TLSSocket } from 'node:tls';
import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DashboardEnv } from '@md/config';
import { addressSource, clientAddress, errorBody } from '@md/platform';
import { createVisitorLimit, LIMIT_NAMES, type LimitedRoute } from './limits';
import type { DashboardMetrics, Upstream } from './metrics';
import { sendJson } from './reply';

/** Hop-by-hop headers (RFC 9110 §7.6.1): never passed on, either way. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];
const VISITOR_CREDENTIALS = ['authorization', 'cookie', 'x-api-key'];
/**
 * This server has answered the visitor's `Expect: 100-continue` already (node:http does); passed
 * on, undici refuses the request outright and the visitor got a false 502 "unreachable".
 */
const ANSWERED_HERE = ['expect'];
/** Every method reaches the guard, which answers 404 / 405 itself. */
const ALL_METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'];

/** The api routes the app calls (src/api/client.ts): GET/HEAD only. */
const API_READ_ROUTES = [/^\/symbols$/, /^\/symbols\/[^/]+$/, /^\/symbols\/[^/]+\/(candles|history)$/];

interface ProxyOptions {
  config: DashboardEnv;
  metrics: DashboardMetrics;
  log: FastifyBaseLogger;
}

type Headers = Record<string, string | string[] | number | undefined>;

/** The path of a request as the old URL parser read it; a path with dot segments or the like is nobody's route. */
function pathOf(request: FastifyRequest): string | undefined {
  const raw = request.url.split('?', 1)[0];
  const { pathname } = new URL(raw, 'http://dashboard.invalid');
  return pathname === raw ? pathname : undefined;
}

function without(headers: Headers, names: string[]): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !names.includes(name)) out[name] = value;
  return out;
}

export async function registerProxy(app: FastifyInstance, { config, metrics, log }: ProxyOptions): Promise<void> {
  const limits: Record<LimitedRoute, ReturnType<typeof createVisitorLimit>> = {
    api: createVisitorLimit(config.VISITOR_API_PER_MIN),
    stream_token: createVisitorLimit(config.VISITOR_TOKENS_PER_MIN),
    gateway: createVisitorLimit(config.VISITOR_STREAMS_PER_MIN),
  };
  const visitorOf = (request: FastifyRequest) => clientAddress(request.raw, config.TRUST_PROXY);

  /** Which paths and methods each proxied route answers, then its per-visitor limit. */
  const guard = (kind: LimitedRoute) => async (request: FastifyRequest, reply: FastifyReply) => {
    const path = pathOf(request);
    if (kind === 'api') {
      if (!path || !API_READ_ROUTES.some((pattern) => pattern.test(path.slice('/api'.length))))
        return sendJson(reply, 404, errorBody(404, 'not found'));
      if (request.method !== 'GET' && request.method !== 'HEAD')
        return sendJson(reply, 405, errorBody(405, 'method not allowed'), { allow: 'GET, HEAD' });
    } else if (kind === 'gateway') {
      if (path !== '/gw/stream') return sendJson(reply, 404, errorBody(404, 'not found'));
      // The stream is GET only: a HEAD would hold a stream open upstream for nothing.
      if (request.method !== 'GET') return sendJson(reply, 405, errorBody(405, 'method not allowed'), { allow: 'GET' });
    } else if (path !== '/gw/stream/token') {
      return sendJson(reply, 404, errorBody(404, 'not found'));
    }
    const waitS = limits[kind].take(addressSource(visitorOf(request)));
    if (waitS > 0) {
      metrics.limited(kind);
      return sendJson(reply, 429, errorBody(429, `too many requests from this visitor (${LIMIT_NAMES[kind]}): try again later`), {
        'retry-after': String(waitS),
      });
    }
    if (kind === 'stream_token' && request.method !== 'POST') return sendJson(reply, 405, errorBody(405, 'use POST'), { allow: 'POST' });
    return undefined;
  };

  const requestHeaders = (apiKey: string | undefined) => (request: FastifyRequest, headers: Headers) => {
    const out = without(headers, [...HOP_BY_HOP, ...VISITOR_CREDENTIALS, ...ANSWERED_HERE]);
    if (apiKey) out['x-api-key'] = apiKey;
    out['x-request-id'] = request.id;
    out['x-forwarded-for'] = visitorOf(request);
    out['x-forwarded-host'] = request.headers.host ?? '';
    out['x-forwarded-proto'] = (request.raw.socket as TLSSocket).encrypted ? 'https' : 'http';
    return out;
  };

  const responseHeaders = (headers: Headers) => {
    const out = without(headers, [...HOP_BY_HOP, ...VISITOR_CREDENTIALS]);
    if (/^text\/event-stream/.test(String(headers['content-type']))) {
      out['cache-control'] = 'no-cache, no-transform';
      out['x-accel-buffering'] = 'no'; // and tell any proxy in front not to buffer either
    }
    return out;
  };

  const failed =
    (upstream: Upstream) =>
    (reply: FastifyReply, { error }: { error: Error }) => {
      metrics.proxyError(upstream);
      log.warn(
        {
          upstream,
          path: pathOf(reply.request) ?? 'other',
          err: (error.cause as Error | undefined)?.message ?? error.message,
          trace_id: reply.request.id,
        },
        'upstream unreachable',
      );
      void sendJson(reply, 502, errorBody(502, `${upstream} unreachable`));
    };

  /** Counts the event streams open through this server. */
  const streamed = (_request: FastifyRequest, reply: FastifyReply, res: { stream: unknown }) => {
    // The upstream's headers are on the reply already (through responseHeaders).
    if (/^text\/event-stream/.test(String(reply.getHeader('content-type')))) {
      metrics.streamOpened();
      reply.raw.once('close', () => metrics.streamClosed());
    }
    void reply.send(res.stream);
  };

  const basePath = (url: string) => new URL(url).pathname.replace(/\/+$/, '');
  const common = {
    httpMethods: ALL_METHODS,
    // Each request is logged once, by server.ts.
    disableRequestLogging: true,
    internalRewriteLocationHeader: false,
    // No retries (a GET answered 503 would otherwise be retried), no redirects followed.
    replyOptions: { retryDelay: () => null, rewriteHeaders: responseHeaders },
  };
  const timed = { undici: { headersTimeout: 30_000, bodyTimeout: 30_000 } };

  await app.register(httpProxy, <FastifyHttpProxyOptions>{
    ...common,
    ...timed,
    prefix: '/api',
    routes: ['/*'],
    upstream: config.API_URL,
    preHandler: guard('api'),
    replyOptions: { ...common.replyOptions, rewriteRequestHeaders: requestHeaders(config.API_KEY), onError: failed('api') },
  });
  await app.register(httpProxy, <FastifyHttpProxyOptions>{
    ...common,
    ...timed,
    prefix: '/gw/stream/token',
    routes: ['/'],
    upstream: config.GATEWAY_URL,
    rewritePrefix: `${basePath(config.GATEWAY_URL)}/stream/token`,
    preHandler: guard('stream_token'),
    replyOptions: { ...common.replyOptions, rewriteRequestHeaders: requestHeaders(config.API_KEY), onError: failed('gateway') },
  });
  await app.register(httpProxy, <FastifyHttpProxyOptions>{
    ...common,
    // An event stream lasts as long as the browser keeps it: no timeout.
    undici: { headersTimeout: 0, bodyTimeout: 0 },
    prefix: '/gw',
    routes: ['/*'],
    upstream: config.GATEWAY_URL,
    preHandler: guard('gateway'),
    replyOptions: {
      ...common.replyOptions,
      rewriteRequestHeaders: requestHeaders(undefined),
      onError: failed('gateway'),
      onResponse: streamed,
    },
  });
}
