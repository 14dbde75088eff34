import type { ServerResponse } from 'node:http';
import { HttpStatus, Injectable, type NestMiddleware } from '@nestjs/common';
import { errorBody } from '@md/platform';
import { IngestService } from './ingest.service';

const SHUTTING_DOWN = JSON.stringify(errorBody(HttpStatus.SERVICE_UNAVAILABLE, 'not stored: this instance is shutting down; retry'));

/**
 * The shutdown gate of the ingest routes, at the request's arrival (Nest runs middleware in
 * Fastify's onRequest, before the body is read): a request that arrives once the instance is
 * shutting down is answered 503 with Retry-After: 1 and nothing else happens; every other one
 * is counted until its response is done (IngestService.admit).
 */
@Injectable()
export class IngestAdmission implements NestMiddleware {
  constructor(private readonly ingest: IngestService) {}

  use(_request: unknown, response: ServerResponse, next: () => void): void {
    if (this.ingest.admit(response)) return next();
    response
      .writeHead(HttpStatus.SERVICE_UNAVAILABLE, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(SHUTTING_DOWN),
        'retry-after': '1',
      })
      .end(SHUTTING_DOWN);
  }
}
