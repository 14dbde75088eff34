import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import {
  type AuthFailureLimiter,
  BasicAuthMatcher,
  ChallengeException,
  errorBody,
  passSecretCheck,
  type SecretCheck,
  TooManyFailuresException,
} from '@md/platform';

export interface AdminCredentials {
  username: string;
  password: string;
}

/** The admin realm's check: HTTP Basic with the admin credentials, digested once. */
export function adminCheck(expected: AdminCredentials): SecretCheck {
  const credentials = new BasicAuthMatcher(expected.username, expected.password);
  return {
    realm: 'admin',
    challenge: 'Basic realm="queues", charset="UTF-8"',
    presented: (request) => request.headers.authorization,
    verify: (presented) => credentials.matches(presented),
  };
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
  const check = adminCheck(credentials);
  return class BasicAuthFastifyAdapter extends FastifyAdapter {
    override registerPlugin(): FastifyPluginCallback {
      const plugin = super.registerPlugin();
      return (fastify, options, done) => {
        fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next: () => void) => {
          // The same gate as the Nest guards (passSecretCheck), answered here as the error filter would.
          try {
            passSecretCheck(failures, check, request.ip, request);
          } catch (error) {
            if (error instanceof TooManyFailuresException) {
              void reply.code(429).header('Retry-After', String(error.retryAfterS)).send(errorBody(429, error.message));
              return;
            }
            if (error instanceof ChallengeException) {
              void reply.code(401).header('WWW-Authenticate', error.challenge).send(errorBody(401, error.message));
              return;
            }
            throw error;
          }
          next();
        });
        plugin(fastify, options, done);
      };
    }
  };
}
