import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ChallengeException } from '@md/platform';
import { StreamAuth } from './stream-auth';

/** The API key itself (never a token: a token cannot buy another token). */
@Injectable()
export class StreamKeyGuard implements CanActivate {
  constructor(private readonly auth: StreamAuth) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.auth.keyAllows(context.switchToHttp().getRequest<FastifyRequest>().headers['x-api-key'])) return true;
    throw new ChallengeException('ApiKey header="x-api-key"');
  }
}
