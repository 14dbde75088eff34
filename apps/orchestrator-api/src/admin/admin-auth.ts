import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { type AuthFailureLimiter, errorBody, parseBasicAuth, secretEquals, TooManyFailuresException } from '@md/platform';

export interface AdminCredentials {
  username: string;
  password: string;
}

/** Whether an Authorization header carries the admin credentials (both compared, always, in constant time). */
export function isAdmin(authorization: string | undefined, expected: AdminCredentials): boolean {
  const credentials = parseBasicAuth(authorization);
  const userOk = secretEquals(credentials?.user ?? '', expected.username);
  const passwordOk = secretEquals(credentials?.password ?? '', expected.password);
  return Boolean(credentials) && userOk && passwordOk;
}

/**
 * bull-board's Fastify adapter with HTTP Basic auth on every route it registers: the page,
 * its static assets and its JSON API (which can retry, promote and delete jobs).
 *
 * Why not the `middleware` option of @bull-board/nestjs: on Fastify, Nest matches middleware
 * against the exact route (`/admin/queues`), so `/admin/queues/api/*` would stay open. The
 * hook here sits inside the adapter's own plugin context and so covers every route in it.
 */
export function basicAuthAdapter(credentials: AdminCredentials, failures: AuthFailureLimiter): new () => FastifyAdapter {
  return class BasicAuthFastifyAdapter extends FastifyAdapter {
    override registerPlugin(): FastifyPluginCallback {
      const plugin = super.registerPlugin();
      return (fastify, options, done) => {
        fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next: () => void) => {
          // Past AUTH_FAILURES_PER_MIN failures this minute, a client address gets 429 before its
          // credentials are looked at (a valid request pays one map lookup for that).
          try {
            failures.check(request.ip, 'admin');
          } catch (error) {
            if (!(error instanceof TooManyFailuresException)) throw error;
            void reply.code(429).header('Retry-After', String(error.retryAfterS)).send(errorBody(429, error.message));
            return;
          }
          if (isAdmin(request.headers.authorization, credentials)) return next();
          failures.fail(request.ip, 'admin');
          void reply
            .code(401)
            .header('WWW-Authenticate', 'Basic realm="queues", charset="UTF-8"')
            .send(errorBody(401, 'authentication required'));
        });
        plugin(fastify, options, done);
      };
    }
  };
}
