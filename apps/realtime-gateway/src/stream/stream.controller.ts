import { Controller, Get, HttpCode, HttpStatus, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiHeader,
  ApiOkResponse,
  ApiTooManyRequestsResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, FieldsException, KeyedThrottlerGuard, unavailableBecause } from '@md/platform';
import { AddressStreams } from './address-streams';
import { CorsPolicy } from './cors';
import { parseStreamOptions } from './filter';
import { StreamHub } from './hub';
import { SseSink } from './sinks';
import { StreamAuth } from './stream-auth';
import { StreamAccessGuard, StreamKeyGuard } from './stream-key.guard';
import { StreamTokenDto } from './stream-token.dto';

/** How long a browser waits before it reconnects a dropped stream. */
const RETRY_MS = 1_000;

/** Retry-After of a stream refused at MAX_CLIENTS: long enough for a reconnect storm to spread. */
export const FULL_RETRY_AFTER_S = 5;

/** Retry-After of a stream refused at MAX_STREAMS_PER_ADDRESS: a place frees only when one of that address's streams ends. */
export const PER_ADDRESS_RETRY_AFTER_S = 30;

@ApiTags('stream')
@Controller('stream')
// Each route authenticates first (a failure counts toward AUTH_FAILURES_PER_MIN), then
// STREAM_RATE_LIMIT_PER_MIN connections and token requests per verified key or token and
// client address: 429 past it.
@ApiTooManyRequestsResponse({
  description: 'More than STREAM_RATE_LIMIT_PER_MIN requests this minute (Retry-After says when to come back)',
})
export class StreamController {
  constructor(
    private readonly hub: StreamHub,
    private readonly auth: StreamAuth,
    private readonly cors: CorsPolicy,
    private readonly perAddress: AddressStreams,
  ) {}

  @Post('token')
  @HttpCode(HttpStatus.CREATED)
  @UseGuards(StreamKeyGuard, KeyedThrottlerGuard)
  @ApiSecurity('apiKey')
  @ApiOperation({
    summary: 'A short-lived stream token',
    description: 'For clients that cannot set headers (EventSource): pass it as ?token= to /stream or /ws. Checked when a stream connects.',
  })
  @ApiOkResponse({ type: StreamTokenDto })
  token(): StreamTokenDto {
    return this.auth.issue();
  }

  @Get()
  @UseGuards(StreamAccessGuard, KeyedThrottlerGuard)
  @ApiSecurity('apiKey')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary: 'Server-Sent Events: snapshot, then live symbol.updated / tick.received',
    description:
      'First `event: snapshot` (the latest view of every requested symbol, `id:` = the seq it is current as of), then the live ' +
      'messages, each with `id:` = its seq. A reconnecting EventSource sends Last-Event-ID and gets exactly the missed messages; ' +
      'a resume point beyond history gets `event: reset` and a new snapshot. A snapshot larger than SNAPSHOT_CHUNK_BYTES comes as ' +
      'several `snapshot` events with the same seq: every one but the last has `more: true` and no `id:`; the last carries the id. ' +
      'With maxHz, views are conflated per symbol ' +
      '(`skipped` says how many were replaced). A comment line every 15 s keeps the connection alive.',
  })
  @ApiQuery({ name: 'symbols', required: false, description: 'Comma-separated symbols (default: all)' })
  @ApiQuery({ name: 'types', required: false, description: 'Comma-separated: symbol.updated, tick.received (default: symbol.updated)' })
  @ApiQuery({ name: 'maxHz', required: false, description: 'At most this many view updates per symbol per second (0 < maxHz ≤ 1000)' })
  @ApiQuery({ name: 'token', required: false, description: 'A token from POST /stream/token (instead of x-api-key)' })
  @ApiQuery({ name: 'lastEventId', required: false, description: 'Resume after this id when a new EventSource cannot send Last-Event-ID' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Sent by the browser on reconnect: resume after this id' })
  @ApiUnauthorizedResponse({ description: 'Missing or wrong x-api-key / token' })
  @ApiServiceUnavailableResponse({
    description: 'MAX_CLIENTS streams open on this gateway, or Redis unreachable (Retry-After says when to come back)',
  })
  @ApiTooManyRequestsResponse({
    description: 'MAX_STREAMS_PER_ADDRESS streams open from this client address, or over STREAM_RATE_LIMIT_PER_MIN (Retry-After)',
  })
  async stream(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Query() query: Record<string, unknown>): Promise<void> {
    const lastEventId = request.headers['last-event-id'];
    const { options, errors } = parseStreamOptions(query, typeof lastEventId === 'string' ? lastEventId : undefined);
    if (!options) throw new FieldsException(HttpStatus.BAD_REQUEST, 'invalid stream request', errors);
    if (this.hub.full) {
      // MAX_CLIENTS: this replica holds all it may; another replica (or this one, later) can take it.
      this.hub.refused('sse', 'max_clients');
      await reply
        .status(HttpStatus.SERVICE_UNAVAILABLE)
        .header('retry-after', String(FULL_RETRY_AFTER_S))
        .send(errorBody(HttpStatus.SERVICE_UNAVAILABLE, 'too many stream connections on this gateway (MAX_CLIENTS): retry later'));
      return;
    }
    const release = this.perAddress.acquire(request.ip, 'sse');
    if (!release) {
      await reply
        .status(HttpStatus.TOO_MANY_REQUESTS)
        .header('retry-after', String(PER_ADDRESS_RETRY_AFTER_S))
        .send(
          errorBody(
            HttpStatus.TOO_MANY_REQUESTS,
            'too many streams open from this address (MAX_STREAMS_PER_ADDRESS): close one or retry later',
          ),
        );
      return;
    }

    // From here on the response is ours: Fastify does not send it.
    reply.hijack();
    const res = reply.raw;
    // What the hooks put on the reply (security headers, CORS) goes on the raw answer too.
    const headers = { ...(reply.getHeaders() as Record<string, string>), ...this.cors.headers(request.headers.origin) };
    const sink = new SseSink(res, headers, RETRY_MS);
    const client = this.hub.attach(sink, options);
    res.on('close', () => {
      release();
      client.close();
    });
    try {
      await this.hub.start(client, options.lastEventId);
    } catch (error) {
      client.close();
      if (!sink.headersSent && !res.destroyed) {
        res.writeHead(503, { ...headers, 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' });
        res.end(JSON.stringify(errorBody(503, unavailableBecause('stream', error).message)));
      }
    }
  }
}
