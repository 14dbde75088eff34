/** How this server answers on its own: JSON, never cached (libs/platform's error shape for errors). */
import type { FastifyReply } from 'fastify';

export function sendJson(reply: FastifyReply, status: number, body: unknown, extra: Record<string, string> = {}): FastifyReply {
  return reply
    .code(status)
    .headers({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...extra })
    .send(body);
}
