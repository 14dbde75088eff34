import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Level, Logger } from 'pino';

/** A request as the middleware sees it: the raw request, `id` set by createService's genReqId. */
export type LoggedRequest = IncomingMessage & { id?: string; originalUrl?: string };

/**
 * The request being served, for the lines written while serving it. pino-http gave each
 * request two child loggers with the request serialised into them up front (CPU on every
 * request, and ~4 KB held by every open SSE stream); here a request costs one
 * AsyncLocalStorage entry, and its fields are read only when a line is written.
 */
const currentRequest = new AsyncLocalStorage<LoggedRequest>();

/**
 * The logger's mixin: on a line written while serving a request, the fields pino-http's
 * child logger carried, `req` (through the `req` serializer) and `trace_id`. A field the
 * call names itself wins. A new object each time: pino merges the line's fields into it.
 */
export function requestBindings(): Record<string, unknown> {
  const req = currentRequest.getStore();
  return req ? { req, trace_id: req.id } : {};
}

export interface RequestLoggingOptions {
  /** The root logger (with requestBindings as its mixin). */
  logger: Logger;
  /** The trace id of a request that has none yet. */
  genReqId: (req: LoggedRequest) => string;
  /** Requests whose completion is not logged (an `error` event on their response still is). */
  ignore: (req: LoggedRequest) => boolean;
  /** The level of a request's completion line. */
  level: (req: LoggedRequest, res: ServerResponse, error?: Error) => Level | 'silent';
}

const START = Symbol('requestStart');
const REQUEST = Symbol('request');
type LoggedResponse = ServerResponse & { [START]?: number; [REQUEST]?: LoggedRequest };

/**
 * Connect-style middleware in place of pino-http: runs the rest of the request inside its
 * context (requestBindings), and writes the same completion line pino-http wrote (`request
 * completed`, or `request errored` with `err` for an error or a 5xx; `req`, `trace_id`, `res`,
 * `responseTime`), on the first of the response's finish, close or error. The listeners are
 * shared functions (the response is their `this`), not closures made per request.
 */
export function requestLogging({ logger, genReqId, ignore, level }: RequestLoggingOptions) {
  function completed(this: LoggedResponse, error?: Error): void {
    this.removeListener('finish', completed);
    this.removeListener('close', completed);
    this.removeListener('error', completed);
    const req = this[REQUEST] as LoggedRequest;
    const at = level(req, this, error);
    if (at === 'silent' || !logger.isLevelEnabled(at)) return;
    const responseTime = Date.now() - (this[START] as number);
    if (error || this.statusCode >= 500) {
      const err = error ?? new Error(`failed with status code ${this.statusCode}`);
      logger[at]({ req, trace_id: req.id, res: this, err, responseTime }, 'request errored');
    } else {
      logger[at]({ req, trace_id: req.id, res: this, responseTime }, 'request completed');
    }
  }

  return (req: LoggedRequest, res: LoggedResponse, next: () => void): void => {
    req.id ??= genReqId(req);
    res[START] = Date.now();
    res[REQUEST] = req;
    if (!ignore(req)) {
      res.on('finish', completed);
      res.on('close', completed);
    }
    res.on('error', completed);
    currentRequest.run(req, next);
  };
}
