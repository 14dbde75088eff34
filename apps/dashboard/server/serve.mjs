#!/usr/bin/env node
/**
 * The dashboard's server (plain Node, no dependencies): serves the built single-page app from
 * dist/apps/dashboard and proxies what the browser needs, so that the API key never reaches
 * the browser.
 *
 *   GET/HEAD /api/symbols, /api/symbols/:id, /api/symbols/:id/candles, /api/symbols/:id/history
 *                      → API_URL (prefix stripped), with `x-api-key: API_KEY` added: only the read
 *                        routes the app calls (src/api/client.ts); any other /api path is 404, any
 *                        other method 405, so the shared key and this server's address never carry
 *                        a visitor's write or admin request (or their failed credentials) upstream
 *   POST /gw/stream/token → GATEWAY_URL/stream/token, with `x-api-key` added: a short-lived stream token
 *   GET /gw/stream     → GATEWAY_URL/stream, WITHOUT the key: the SSE stream, which the
 *                        browser authenticates with that token; streamed through unbuffered
 *
 * The visitor's own credentials (Authorization, Cookie, x-api-key) are never forwarded.
 *   GET /status        → readiness of every service and the api's GET /pipeline, for the pipeline panel
 *
 * /api/*, the token endpoint and /gw/stream are limited per visitor (client address, after
 * TRUST_PROXY; IPv6 by /64):
 * the key they add is one for everybody, so without it one visitor could spend the budget the
 * api and the gateway give that key. The visitor's address, as this server resolved it, goes
 * upstream as the whole X-Forwarded-For (the part of the chain this server did not believe is
 * dropped, like nginx's realip + `$remote_addr`), so an api / gateway whose TRUST_PROXY trusts
 * one hop from this server (a hop count of 1, or its address) limits each visitor on its own too,
 * and the same hop count holds for clients that reach it through a load balancer instead.
 *   GET /config.json   → the public URLs the app links to or connects to
 *   /health/liveness, /health/readiness, /metrics, and the static files (SPA fallback to index.html).
 *
 * It must never forward the key on a route that does not need it, never log it, and never
 * serve a file from outside the build directory. Config is validated once, at boot: a bad
 * variable stops it with exit code 78 and one JSON line naming the variable (never its value),
 * as the Nest services do. `vite.config.mts` imports the same pieces for `nx serve dashboard`.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const SERVICE = 'dashboard';
const HERE = dirname(fileURLToPath(import.meta.url));
/** The build output; the same relative place in the workspace and in the image. */
export const STATIC_DIR = resolve(HERE, '../../../dist/apps/dashboard');

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NODE_ENVS = ['production', 'development', 'test'];

/**
 * @typedef {object} DashboardConfig
 * @property {string} NODE_ENV
 * @property {string} LOG_LEVEL
 * @property {string} HOST
 * @property {number} PORT
 * @property {string} API_URL
 * @property {string} GATEWAY_URL
 * @property {string} CONSUMERS_URL
 * @property {string} FEEDER_URL
 * @property {string | undefined} API_KEY
 * @property {string} GATEWAY_PUBLIC_URL
 * @property {string} API_PUBLIC_URL
 * @property {false | number | string[]} TRUST_PROXY
 * @property {number} VISITOR_API_PER_MIN
 * @property {number} VISITOR_TOKENS_PER_MIN
 * @property {number} VISITOR_STREAMS_PER_MIN
 */

/**
 * http(s) URL, or a bare host:port read as http://host:port (what Render's `hostport` gives); no trailing slash.
 * @param {string} value
 */
function httpUrl(value) {
  const text = /^[^/:]+:\d+$/.test(value) ? `http://${value}` : value;
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return text.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

/**
 * Each variable: default, and a parser answering the value or a problem (never echoing the value).
 * @type {Record<string, { default: string | undefined, parse: (raw: string) => { value?: unknown, problem?: string } }>}
 */
const SCHEMA = {
  NODE_ENV: { default: 'production', parse: (v) => (NODE_ENVS.includes(v) ? { value: v } : { problem: `must be one of ${NODE_ENVS.join(', ')}` }) },
  LOG_LEVEL: { default: 'info', parse: (v) => (LOG_LEVELS.includes(v) ? { value: v } : { problem: `must be one of ${LOG_LEVELS.join(', ')}` }) },
  HOST: { default: '0.0.0.0', parse: (v) => (v.length <= 255 ? { value: v } : { problem: 'must be at most 255 characters' }) },
  PORT: {
    default: '5173',
    parse: (v) => (/^\d+$/.test(v) && Number(v) <= 65535 ? { value: Number(v) } : { problem: 'must be an integer between 0 and 65535' }),
  },
  API_URL: { default: 'http://127.0.0.1:3000', parse: urlParser },
  GATEWAY_URL: { default: 'http://127.0.0.1:3001', parse: urlParser },
  CONSUMERS_URL: { default: 'http://127.0.0.1:3002', parse: urlParser },
  FEEDER_URL: { default: 'http://127.0.0.1:3003', parse: urlParser },
  API_KEY: {
    default: undefined,
    parse: (v) =>
      v.length < 16
        ? { problem: 'must be at least 16 characters when set' }
        : v.length > 256
          ? { problem: 'must be at most 256 characters' }
          : isPlaceholder(v)
            ? { problem: 'is a published placeholder value: set a secret of your own' }
            : { value: v },
  },
  GATEWAY_PUBLIC_URL: {
    default: '/gw',
    parse: (v) =>
      /^\/[A-Za-z0-9._~\-/]*$/.test(v) ? { value: v.replace(/(.)\/+$/, '$1') } : urlParser(v, 'must be a path starting with / or a http/https:// URL'),
  },
  API_PUBLIC_URL: { default: 'http://localhost:3000', parse: urlParser },
  TRUST_PROXY: { default: 'false', parse: trustProxyParser },
  VISITOR_API_PER_MIN: { default: '600', parse: (v) => intParser(v, 1, 1_000_000) },
  VISITOR_TOKENS_PER_MIN: { default: '60', parse: (v) => intParser(v, 1, 1_000_000) },
  VISITOR_STREAMS_PER_MIN: { default: '60', parse: (v) => intParser(v, 1, 1_000_000) },
};

/**
 * A copy of libs/config's secrets-policy (KNOWN_PLACEHOLDERS, isPlaceholder): this server
 * imports node:* only (its image has no node_modules and no workspace libs). Keep the two in
 * step; serve.test.ts checks this list against that one.
 */
export const KNOWN_PLACEHOLDERS = [
  'change-me-please',
  'change-me-internal-token',
  'change-me-ingest',
  'change-me-0123456789abcdef',
  'change-me-internal-0123',
  'change-me-admin',
  'change-me-pg',
];
const isPlaceholder = (/** @type {string} */ value) => KNOWN_PLACEHOLDERS.includes(value) || /^change-?me/i.test(value);

/**
 * @param {string} value
 * @param {number} min
 * @param {number} max
 */
function intParser(value, min, max) {
  const n = Number(value);
  return /^\d+$/.test(value) && n >= min && n <= max ? { value: n } : { problem: `must be an integer between ${min} and ${max}` };
}

/** Fastify's trustProxy as the Nest services read TRUST_PROXY (libs/config): false, a hop count, or addresses / CIDRs. */
const TRUST_NAMES = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** @param {string} value */
function trustProxyParser(value) {
  const text = value.trim();
  if (/^(false|off|0)$/i.test(text)) return { value: false };
  if (/^\d+$/.test(text)) return Number(text) >= 1 && Number(text) <= 10 ? { value: Number(text) } : { problem: TRUST_HINT };
  const entries = text.split(',').map((e) => e.trim());
  const valid = (/** @type {string} */ entry) => {
    if (entry in TRUST_NAMES) return true;
    const [address, prefix, ...rest] = entry.split('/');
    const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0;
    return rest.length === 0 && max > 0 && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max));
  };
  return entries.every(valid) ? { value: entries } : { problem: TRUST_HINT };
}
const TRUST_HINT = 'must be false, a hop count 1-10, or a comma-separated list of IP addresses / CIDRs (or loopback, linklocal, uniquelocal)';

/** `::ffff:1.2.3.4` as `1.2.3.4`. @param {string} address */
const plainAddress = (address) => /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;

/**
 * Whom a per-visitor limit counts an address against: IPv4 as it is (v4-mapped unmapped, also
 * in hex form), IPv6 by its /64 (one subscriber holds a whole /64). A copy of libs/platform's
 * `addressSource` (client-address.ts), because this server imports node:* only; serve.test.ts
 * and limits.spec.ts check both against the same forms.
 * @param {string} address
 */
export function addressSource(address) {
  const plain = plainAddress(address);
  if (!isIPv6(plain)) return plain;
  let text = plain.split('%')[0];
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number);
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const read = (/** @type {string} */ part) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const [head, rest] = text.split('::');
  const left = read(head);
  const right = rest === undefined ? [] : read(rest);
  const groups = rest === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join('.');
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

/**
 * The visitor's address, as Fastify's request.ip computes it with the same trustProxy: the
 * peer unless it is a trusted proxy, then X-Forwarded-For from the right, up to the first
 * untrusted hop (the left end is whatever the client wrote, never believed by itself).
 * @param {http.IncomingMessage} req
 * @param {false | number | string[]} trust
 */
export function visitorAddress(req, trust) {
  const peer = plainAddress(req.socket.remoteAddress ?? 'unknown');
  if (trust === false) return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((e) => e.trim()).filter(Boolean).reverse();
  const hops = [peer, ...forwarded];
  /** @type {(address: string, hop: number) => boolean} */
  let trusted;
  if (typeof trust === 'number') trusted = (_address, hop) => hop < trust;
  else {
    const list = new BlockList();
    for (const entry of trust.flatMap((e) => TRUST_NAMES[/** @type {keyof typeof TRUST_NAMES} */ (e)] ?? [e])) {
      const [address, prefix] = entry.split('/');
      const type = isIPv4(address) ? 'ipv4' : 'ipv6';
      if (prefix === undefined) list.addAddress(address, type);
      else list.addSubnet(address, Number(prefix), type);
    }
    trusted = (address) => {
      const plain = plainAddress(address);
      return isIPv4(plain) ? list.check(plain, 'ipv4') : isIPv6(plain) && list.check(plain, 'ipv6');
    };
  }
  for (let i = 0; i < hops.length - 1; i++) if (!trusted(hops[i], i)) return plainAddress(hops[i]);
  return plainAddress(hops[hops.length - 1]);
}

/** Visitors remembered at most per limit; past it the entries whose minute is over go first, then the oldest. */
const VISITORS_MAX = 50_000;

/**
 * Requests per visitor in fixed one-minute windows. Entries are (re)inserted when their window
 * starts, so the Map's order is that of their expiry: eviction drops from the front.
 * @param {number} perMinute
 */
export function createVisitorLimit(perMinute) {
  /** @type {Map<string, { count: number, resetAt: number }>} */
  const windows = new Map();
  return {
    /** Seconds to wait when over the limit, else 0 (and the request is counted). */
    take(/** @type {string} */ visitor, now = Date.now()) {
      let entry = windows.get(visitor);
      if (entry && entry.resetAt <= now) {
        windows.delete(visitor);
        entry = undefined;
      }
      if (!entry) {
        for (const [key, old] of windows) {
          if (windows.size < VISITORS_MAX && old.resetAt > now) break;
          windows.delete(key);
        }
        entry = { count: 0, resetAt: now + 60_000 };
        windows.set(visitor, entry);
      }
      if (entry.count >= perMinute) return Math.max(1, Math.ceil((entry.resetAt - now) / 1000));
      entry.count += 1;
      return 0;
    },
  };
}

/**
 * @param {string} value
 * @param {string} [problem]
 */
function urlParser(value, problem = 'must be a http/https:// URL') {
  const url = httpUrl(value);
  return url ? { value: url } : { problem };
}

/**
 * Reads the environment against the schema. Empty counts as unset.
 * @param {Record<string, string | undefined>} source
 * @returns {{ config: DashboardConfig, problems: string[] }}
 */
export function readConfig(source) {
  /** @type {Record<string, unknown>} */
  const config = {};
  const problems = [];
  for (const [name, { default: byDefault, parse }] of Object.entries(SCHEMA)) {
    const given = source[name];
    const raw = given === undefined || given === '' ? byDefault : given;
    if (raw === undefined) continue;
    const result = parse(raw);
    if (result.problem) problems.push(`${name}: ${result.problem}`);
    else config[name] = result.value;
  }
  return { config: /** @type {DashboardConfig} */ (config), problems };
}

/** For main: the config, or exit 78 (EX_CONFIG) with one JSON line on stderr naming each bad variable. */
export function loadConfigOrExit(source = process.env) {
  const { config, problems } = readConfig(source);
  if (problems.length > 0) {
    const msg = `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service: SERVICE, msg, problems })}\n`);
    process.exit(78);
  }
  return config;
}

/** What the app reads at start (GET /config.json): public URLs only, never the key. */
export function publicConfig(/** @type {DashboardConfig} */ config) {
  return {
    gatewayUrl: config.GATEWAY_PUBLIC_URL,
    apiDocsUrl: `${config.API_PUBLIC_URL}/docs`,
    queueAdminUrl: `${config.API_PUBLIC_URL}/admin/queues`,
  };
}

const PROBE_TIMEOUT_MS = 1_500;

/**
 * GET /status: every service's readiness (each with a short timeout, all at once) and the
 * api's pipeline stats. Never fails: an unreachable service is `ready: false` with the reason.
 * @param {DashboardConfig} config
 */
export async function statusOf(config) {
  const services = [
    { name: 'orchestrator-api', url: config.API_URL },
    { name: 'realtime-gateway', url: config.GATEWAY_URL },
    { name: 'consumers', url: config.CONSUMERS_URL },
    { name: 'feeder', url: config.FEEDER_URL },
  ];
  const probe = async (/** @type {{ name: string, url: string }} */ { name, url }) => {
    const started = performance.now();
    try {
      const answer = await fetch(`${url}/health/readiness`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await answer.arrayBuffer();
      return { name, ready: answer.ok, status: answer.status, latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      const reason = /** @type {Error} */ (error).name === 'TimeoutError' ? `no answer within ${PROBE_TIMEOUT_MS} ms` : 'unreachable';
      return { name, ready: false, status: null, error: reason, latencyMs: Math.round(performance.now() - started) };
    }
  };
  const pipeline = async () => {
    try {
      const answer = await fetch(`${config.API_URL}/pipeline`, {
        headers: config.API_KEY ? { 'x-api-key': config.API_KEY } : {},
        // The key goes to API_URL only, never to wherever a redirect points.
        redirect: 'error',
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      if (!answer.ok) return { pipeline: null, pipelineError: `api answered ${answer.status}` };
      return { pipeline: await answer.json() };
    } catch {
      return { pipeline: null, pipelineError: 'api unreachable' };
    }
  };
  const [probes, stats] = await Promise.all([Promise.all(services.map(probe)), pipeline()]);
  return { services: probes, ...stats, at: Date.now() };
}

// ---------------------------------------------------------------------------------------------
// Logging and metrics

/** JSON lines, like the Nest services' pino output: level, time, service, pid, msg. */
export function createLogger(/** @type {string} */ level) {
  const threshold = LOG_LEVELS.indexOf(level);
  /**
   * @param {string} at
   * @param {string} msg
   * @param {Record<string, unknown>} [fields]
   */
  const write = (at, msg, fields = {}) => {
    if (LOG_LEVELS.indexOf(at) > threshold) return;
    const line = JSON.stringify({ level: at, time: new Date().toISOString(), service: SERVICE, pid: process.pid, msg, ...fields });
    (at === 'fatal' || at === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
  };
  /** @typedef {(msg: string, fields?: Record<string, unknown>) => void} LogFn */
  return {
    /** @type {LogFn} */ error: (msg, fields) => write('error', msg, fields),
    /** @type {LogFn} */ warn: (msg, fields) => write('warn', msg, fields),
    /** @type {LogFn} */ info: (msg, fields) => write('info', msg, fields),
    /** @type {LogFn} */ debug: (msg, fields) => write('debug', msg, fields),
  };
}

/** The few metrics this server owns: bounded labels only (route kind, status class, upstream). */
function createMetrics() {
  /** @type {Map<string, number>} */
  const requests = new Map();
  const proxyErrors = { api: 0, gateway: 0 };
  const limited = { api: 0, stream_token: 0, gateway: 0 };
  let streamsOpen = 0;
  return {
    request(/** @type {string} */ route, /** @type {number} */ status) {
      const key = `route="${route}",status="${Math.floor(status / 100)}xx"`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
    },
    proxyError(/** @type {'api' | 'gateway'} */ upstream) {
      proxyErrors[upstream] += 1;
    },
    limited(/** @type {'api' | 'stream_token' | 'gateway'} */ route) {
      limited[route] += 1;
    },
    streamOpened() {
      streamsOpen += 1;
    },
    streamClosed() {
      streamsOpen -= 1;
    },
    text() {
      const label = `service="${SERVICE}"`;
      return [
        '# HELP md_dashboard_requests_total Requests answered by the dashboard server, by route kind and status class',
        '# TYPE md_dashboard_requests_total counter',
        ...[...requests].map(([key, n]) => `md_dashboard_requests_total{${label},${key}} ${n}`),
        '# HELP md_dashboard_proxy_errors_total Proxied requests that got no answer from their upstream (answered 502), by upstream',
        '# TYPE md_dashboard_proxy_errors_total counter',
        ...Object.entries(proxyErrors).map(([upstream, n]) => `md_dashboard_proxy_errors_total{${label},upstream="${upstream}"} ${n}`),
        '# HELP md_dashboard_rate_limited_total Requests answered 429: the visitor passed VISITOR_API_PER_MIN (api), VISITOR_TOKENS_PER_MIN (stream_token) or VISITOR_STREAMS_PER_MIN (gateway)',
        '# TYPE md_dashboard_rate_limited_total counter',
        ...Object.entries(limited).map(([route, n]) => `md_dashboard_rate_limited_total{${label},route="${route}"} ${n}`),
        '# HELP md_dashboard_streams_open Event streams proxied to the gateway right now',
        '# TYPE md_dashboard_streams_open gauge',
        `md_dashboard_streams_open{${label}} ${streamsOpen}`,
        '',
      ].join('\n');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Proxy

/** Hop-by-hop headers (RFC 9110 §7.6.1) and what the upstream must not get from the browser. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/**
 * The visitor's credentials: never forwarded. Upstream, a request from this server counts
 * against this server's address (unless TRUST_PROXY there names it), so a visitor's wrong
 * Basic Auth or key would spend AUTH_FAILURES_PER_MIN for every visitor; and the browser's
 * cookies are for this origin, not for the services behind it.
 */
const VISITOR_CREDENTIALS = new Set(['authorization', 'cookie', 'x-api-key']);

/** The api routes the app calls (src/api/client.ts): GET/HEAD only. */
const API_READ_ROUTES = [/^\/symbols$/, /^\/symbols\/[^/]+$/, /^\/symbols\/[^/]+\/(candles|history)$/];

function forwardHeaders(/** @type {http.IncomingHttpHeaders} */ headers) {
  /** @type {http.OutgoingHttpHeaders} */
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && !VISITOR_CREDENTIALS.has(name) && value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * Forwards one request to `target` (path included) and streams the answer back as it comes:
 * nothing is buffered, so an event stream flows event by event. `apiKey` is set on the
 * upstream request when given, and any key the browser sent is dropped either way. A redirect
 * is never followed (node:http does not): it goes back to the browser, without the key.
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 * @param {{ target: string, apiKey?: string, stream?: boolean, upstream: 'api' | 'gateway', visitor: string, log: ReturnType<typeof createLogger>, metrics: ReturnType<typeof createMetrics>, requestId: string }} options
 */
export function proxy(req, res, { target, apiKey, stream = false, upstream, visitor, log, metrics, requestId }) {
  const url = new URL(target);
  const headers = forwardHeaders(req.headers);
  if (apiKey) headers['x-api-key'] = apiKey;
  headers['x-request-id'] = requestId;
  headers['x-forwarded-for'] = visitor;
  headers['x-forwarded-host'] = req.headers.host ?? '';
  headers['x-forwarded-proto'] = /** @type {import('node:tls').TLSSocket} */ (req.socket).encrypted ? 'https' : 'http';
  const client = url.protocol === 'https:' ? https : http;
  const upstreamRequest = client.request(url, { method: req.method, headers });
  if (!stream) upstreamRequest.setTimeout(30_000, () => upstreamRequest.destroy(new Error('upstream timeout')));
  let streaming = false;
  upstreamRequest.on('response', (answer) => {
    const outHeaders = forwardHeaders(answer.headers);
    if (stream && /^text\/event-stream/.test(String(answer.headers['content-type']))) {
      streaming = true;
      metrics.streamOpened();
      outHeaders['cache-control'] = 'no-cache, no-transform';
      outHeaders['x-accel-buffering'] = 'no'; // and tell any proxy in front not to buffer either
      res.once('close', () => metrics.streamClosed());
    }
    res.writeHead(answer.statusCode ?? 502, outHeaders);
    if (streaming) res.flushHeaders();
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  upstreamRequest.on('error', (error) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    metrics.proxyError(upstream);
    log.warn('upstream unreachable', { upstream, path: url.pathname, err: error.message, trace_id: requestId });
    sendJson(res, 502, errorBody(502, `${upstream} unreachable`));
  });
  // A browser that goes away (a closed tab, an EventSource closed) ends the upstream request too.
  res.on('close', () => {
    if (!res.writableFinished || streaming) upstreamRequest.destroy();
  });
  req.pipe(upstreamRequest);
}

// ---------------------------------------------------------------------------------------------
// Static files

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * A file of the build, or index.html for an app route (a path without an extension): the app
 * routes itself. Vite's hashed files under /assets/ never change, so browsers keep them for a
 * year; index.html is revalidated on every load, so a deploy shows at once.
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 * @param {string} pathname
 * @param {{ staticDir: string, securityHeaders: Record<string, string> }} options
 */
async function serveStatic(req, res, pathname, { staticDir, securityHeaders }) {
  let decoded;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return sendJson(res, 400, errorBody(400, 'malformed path'));
  }
  const root = resolve(staticDir);
  let file = resolve(root, `.${decoded}`);
  if (file !== root && !file.startsWith(root + sep)) return sendJson(res, 404, errorBody(404, 'not found'));
  let info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    // An app route (no extension) gets the app; a missing file stays a 404.
    if (extname(decoded) !== '' && !decoded.endsWith('/')) return sendJson(res, 404, errorBody(404, 'not found'));
    file = join(root, 'index.html');
    info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return sendJson(res, 503, errorBody(503, 'the dashboard is not built (npx nx run dashboard:build)'));
  }
  const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const immutable = file.startsWith(join(root, 'assets') + sep);
  const type = TYPES[/** @type {keyof typeof TYPES} */ (extname(file))] ?? 'application/octet-stream';
  const headers = {
    'content-type': type,
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag,
    'x-content-type-options': 'nosniff',
    ...(type.startsWith('text/html') ? securityHeaders : {}),
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    return res.end();
  }
  res.writeHead(200, { ...headers, 'content-length': info.size });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

// ---------------------------------------------------------------------------------------------
// The server

function errorBody(/** @type {number} */ statusCode, /** @type {string} */ message) {
  return { statusCode, error: http.STATUS_CODES[statusCode] ?? 'Error', message };
}

function sendJson(/** @type {http.ServerResponse} */ res, /** @type {number} */ status, /** @type {unknown} */ body, extra = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

/** Route kind of a path, for the metrics label (bounded). */
function routeOf(/** @type {string} */ pathname) {
  if (pathname.startsWith('/api/')) return 'api';
  if (pathname === '/gw/stream/token') return 'stream_token';
  if (pathname.startsWith('/gw/')) return 'gateway';
  if (pathname === '/status' || pathname === '/config.json' || pathname === '/metrics') return pathname.slice(1).replace('.json', '');
  if (pathname.startsWith('/health/')) return 'health';
  return 'static';
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The dashboard server (not yet listening).
 * @param {DashboardConfig} config
 * @param {{ staticDir?: string }} [options]
 */
export function createDashboardServer(config, { staticDir = STATIC_DIR } = {}) {
  const log = createLogger(config.LOG_LEVEL);
  const metrics = createMetrics();
  const gatewayOrigin = /^https?:/.test(config.GATEWAY_PUBLIC_URL) ? ` ${new URL(config.GATEWAY_PUBLIC_URL).origin}` : '';
  const securityHeaders = {
    'content-security-policy':
      `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; ` +
      `connect-src 'self'${gatewayOrigin}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'`,
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
  const limits = {
    api: createVisitorLimit(config.VISITOR_API_PER_MIN),
    stream_token: createVisitorLimit(config.VISITOR_TOKENS_PER_MIN),
    gateway: createVisitorLimit(config.VISITOR_STREAMS_PER_MIN),
  };
  const LIMIT_NAMES = { api: 'VISITOR_API_PER_MIN', stream_token: 'VISITOR_TOKENS_PER_MIN', gateway: 'VISITOR_STREAMS_PER_MIN' };
  /** One /status computation at a time, reused for a second: many open dashboards cost the services one probe round. */
  let statusCache = /** @type {{ at: number, value: Promise<unknown> } | undefined} */ (undefined);

  const server = http.createServer(async (req, res) => {
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    const { pathname, search } = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const route = routeOf(pathname);
    res.on('finish', () => {
      metrics.request(route, res.statusCode);
      if (route === 'health' || route === 'metrics') return;
      const fields = { req: { method: req.method, url: pathname }, res: { statusCode: res.statusCode }, ms: Math.round(performance.now() - started), trace_id: requestId };
      if (res.statusCode >= 500) log.error('request failed', fields);
      else if (res.statusCode >= 400) log.warn('request refused', fields);
      else log.debug('request completed', fields);
    });
    try {
      const visitor = visitorAddress(req, config.TRUST_PROXY);
      if (route === 'api' || route === 'gateway') {
        // Only what the app uses: reads of the api, the event stream of the gateway.
        const path = pathname.slice(route === 'api' ? '/api'.length : '/gw'.length);
        const known = route === 'api' ? API_READ_ROUTES.some((pattern) => pattern.test(path)) : path === '/stream';
        if (!known) return sendJson(res, 404, errorBody(404, 'not found'));
        // The stream is GET only: a HEAD would hold a hijacked stream open upstream for nothing.
        const allowed = route === 'api' ? ['GET', 'HEAD'] : ['GET'];
        if (!allowed.includes(req.method ?? '')) return sendJson(res, 405, errorBody(405, 'method not allowed'), { allow: allowed.join(', ') });
      }
      if (route === 'api' || route === 'stream_token' || route === 'gateway') {
        const waitS = limits[route].take(addressSource(visitor));
        if (waitS > 0) {
          metrics.limited(route);
          return sendJson(res, 429, errorBody(429, `too many requests from this visitor (${LIMIT_NAMES[route]}): try again later`), { 'retry-after': String(waitS) });
        }
      }
      if (route === 'api') {
        return proxy(req, res, { target: `${config.API_URL}${pathname.slice('/api'.length)}${search}`, apiKey: config.API_KEY, upstream: 'api', visitor, log, metrics, requestId });
      }
      if (route === 'stream_token') {
        if (req.method !== 'POST') return sendJson(res, 405, errorBody(405, 'use POST'), { allow: 'POST' });
        return proxy(req, res, { target: `${config.GATEWAY_URL}/stream/token${search}`, apiKey: config.API_KEY, upstream: 'gateway', visitor, log, metrics, requestId });
      }
      if (route === 'gateway') {
        return proxy(req, res, { target: `${config.GATEWAY_URL}${pathname.slice('/gw'.length)}${search}`, stream: true, upstream: 'gateway', visitor, log, metrics, requestId });
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, errorBody(405, 'method not allowed'), { allow: 'GET, HEAD' });
      if (pathname === '/health/liveness') return sendJson(res, 200, { status: 'ok' });
      if (pathname === '/health/readiness') {
        // Ready once listening with a build to serve; the services behind it have their own probes (see /status).
        const index = await stat(join(staticDir, 'index.html')).catch(() => undefined);
        return index?.isFile()
          ? sendJson(res, 200, { status: 'ok', details: { static: { status: 'up' } } })
          : sendJson(res, 503, { status: 'error', details: { static: { status: 'down', message: 'index.html missing: build the dashboard' } } });
      }
      if (pathname === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        return res.end(metrics.text());
      }
      if (pathname === '/config.json') return sendJson(res, 200, publicConfig(config));
      if (pathname === '/status') {
        if (!statusCache || Date.now() - statusCache.at > 1_000) statusCache = { at: Date.now(), value: statusOf(config) };
        return sendJson(res, 200, await statusCache.value);
      }
      return await serveStatic(req, res, pathname, { staticDir, securityHeaders });
    } catch (error) {
      log.error('unexpected error', { err: /** @type {Error} */ (error).stack, trace_id: requestId });
      if (!res.headersSent) sendJson(res, 500, errorBody(500, 'internal error'));
      else res.destroy();
    }
  });
  return { server, log };
}

async function main() {
  const config = loadConfigOrExit();
  const { server, log } = createDashboardServer(config);
  server.on('error', (error) => {
    log.error(`cannot listen: ${error.message}`);
    process.exit(1);
  });
  server.listen(config.PORT, config.HOST, () => {
    const address = /** @type {import('node:net').AddressInfo} */ (server.address());
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    log.info(`listening on http://${host}:${address.port}`, {
      api: config.API_URL,
      gateway: config.GATEWAY_URL,
      apiKey: config.API_KEY ? 'set (added server-side)' : 'unset',
    });
  });
  // SIGTERM: stop accepting, end open event streams (their browsers reconnect to another
  // replica and resume), and exit once the rest is answered, or after 5 s.
  const stop = (/** @type {string} */ signal) => {
    log.info(`${signal}: shutting down`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) void main();
