import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { ErrorBody, FieldError } from '@md/contracts';
import { TooManyFailuresException } from './auth-failures';

/** 4xx with the offending fields named. */
export class FieldsException extends HttpException {
  constructor(
    status: number,
    message: string,
    readonly errors: FieldError[],
  ) {
    super(message, status);
  }
}

/** 503 with Retry-After: the request was not stored; the caller should try again. */
export class UnavailableException extends HttpException {
  constructor(
    message: string,
    readonly retryAfterS = 1,
  ) {
    super(message, HttpStatus.SERVICE_UNAVAILABLE);
  }
}

/**
 * The 503 of a dependency that failed: the caller learns only what is unavailable, the log
 * gets the driver's message (host names, ports, SQL state stay out of answers to
 * unauthenticated callers).
 */
export function unavailableBecause(what: string, error: unknown): UnavailableException {
  new Logger('unavailable').warn(`${what} unavailable: ${error instanceof Error ? error.message : String(error)}`);
  return new UnavailableException(`${what} unavailable; retry`);
}

/** 401 with a challenge header; the body is the same whatever was wrong. */
export class ChallengeException extends HttpException {
  constructor(readonly challenge: string) {
    super('authentication required', HttpStatus.UNAUTHORIZED);
  }
}

export function errorBody(statusCode: number, message: string, errors?: FieldError[]): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(errors ? { errors } : {}) };
}

/**
 * Every error leaves as an ErrorBody. Unknown errors are logged with their stack and
 * answered with a bare 500: no internals in the body.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (exception instanceof UnavailableException) reply.header('Retry-After', String(exception.retryAfterS));
      if (exception instanceof ChallengeException) reply.header('WWW-Authenticate', exception.challenge);
      if (exception instanceof TooManyFailuresException) reply.header('Retry-After', String(exception.retryAfterS));
      const message = messageOf(exception);
      reply.status(status).send(errorBody(status, message, fieldErrorsOf(exception, status, message)));
      return;
    }
    this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    reply.status(500).send(errorBody(500, 'internal error'));
  }
}

/**
 * The field errors of a 4xx. Our own refusals carry them; the others that can reach here
 * (malformed JSON, wrong content type, body too large: raised by Fastify before any
 * handler) are all about the request body.
 */
function fieldErrorsOf(exception: HttpException, status: number, message: string): FieldError[] | undefined {
  if (exception instanceof FieldsException) return exception.errors;
  if (status === 415) return [{ field: 'body', reason: 'Content-Type must be application/json' }];
  if (status === 400 || status === 413) return [{ field: 'body', reason: message }];
  return undefined;
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  return typeof message === 'string' ? message : exception.message;
}
