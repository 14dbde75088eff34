/**
 * The built single-page app (@fastify/static's sendFile): a file of the build, or index.html for
 * an app route (a path without an extension), which the app routes itself. Vite's hashed files
 * under /assets/ never change, so browsers keep them for a year; index.html is revalidated on
 * every load, so a deploy shows at once. Never a file from outside the build directory.
 */
import { stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '@md/platform';
import { sendJson } from './reply';

const TYPES: Record<string, string> = {
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

/** The headers of a file answer, set in onSend: after sendFile's own. */
const fileHeaders = new WeakMap<FastifyRequest, Record<string, string>>();

export async function registerStatic(
  app: FastifyInstance,
  staticDir: string,
  securityHeaders: Record<string, string>,
): Promise<(request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>> {
  await app.register(fastifyStatic, { serve: false, root: resolve(staticDir), etag: true, lastModified: false, cacheControl: false });
  app.addHook('onSend', async (request, reply, payload) => {
    const headers = fileHeaders.get(request);
    if (headers) reply.headers(headers);
    return payload;
  });

  const root = resolve(staticDir);
  return async (request, reply) => {
    const pathname = new URL(request.url, 'http://dashboard.invalid').pathname;
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return sendJson(reply, 400, errorBody(400, 'malformed path'));
    }
    let file = resolve(root, `.${decoded}`);
    if (file !== root && !file.startsWith(root + sep)) return sendJson(reply, 404, errorBody(404, 'not found'));
    let info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      // An app route (no extension) gets the app; a missing file stays a 404.
      if (extname(decoded) !== '' && !decoded.endsWith('/')) return sendJson(reply, 404, errorBody(404, 'not found'));
      file = join(root, 'index.html');
      info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) return sendJson(reply, 503, errorBody(503, 'the dashboard is not built (npx nx run dashboard:build)'));
    }
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    // send's own ETag; checked here too, as send skips it when the request says `Cache-Control: no-cache` (fetch() does, with If-None-Match).
    const etag = `W/"${info.size.toString(16)}-${info.mtime.getTime().toString(16)}"`;
    const headers = {
      'content-type': type,
      'cache-control': file.startsWith(join(root, 'assets') + sep) ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(type.startsWith('text/html') ? securityHeaders : {}),
    };
    if (request.headers['if-none-match'] === etag)
      return reply
        .code(304)
        .headers({ ...headers, etag })
        .send();
    fileHeaders.set(request, headers);
    return reply.sendFile(relative(root, file).split(sep).join('/'), root);
  };
}
