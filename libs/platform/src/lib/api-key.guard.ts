import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ChallengeException } from './errors';
import { secretEquals } from './secrets';

/** The API key of the read API, or undefined when the deployment leaves it open. */
export const API_KEY = Symbol('API_KEY');

/**
 * `x-api-key` must equal the configured key (constant-time compare) when one is configured;
 * every failure is the same 401.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(API_KEY) private readonly apiKey: string | undefined) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.apiKey) return true;
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers['x-api-key'];
    if (typeof header === 'string' && secretEquals(header, this.apiKey)) return true;
    throw new ChallengeException('ApiKey header="x-api-key"');
  }
}
