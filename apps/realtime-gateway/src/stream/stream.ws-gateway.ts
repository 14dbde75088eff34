import type { IncomingMessage } from 'node:http';
import { Logger } from '@nestjs/common';
import { InjectThrottlerStorage, type ThrottlerStorage } from '@nestjs/throttler';
import { GatewayEnv } from '@md/config';
import { ConnectedSocket, MessageBody, type OnGatewayConnection, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import type { FieldError } from '@md/contracts';
import { errorBody, RATE_WINDOW_MS, rateLimitTracker } from '@md/platform';
import type { StreamClient } from './client';
import { CorsPolicy } from './cors';
import { parseStreamOptions, parseSymbols, parseTypes, StreamFilter } from './filter';
import { StreamHub } from './hub';
import { WsSink } from './sinks';
import { StreamAuth } from './stream-auth';

/** Close codes: 4400 bad request, 4401 unauthorized, 4403 origin not allowed, 4429 too many connections, 1013 try again later. */
const CLOSE = { badRequest: 4400, unauthorized: 4401, forbidden: 4403, tooMany: 4429, unavailable: 1013 } as const;

/** The query of an upgrade request, repeated names kept as arrays (refused like on /stream). */
function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const name of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(name);
    query[name] = all.length === 1 ? all[0] : all;
  }
  return query;
}

/**
 * /ws: the same messages as /stream, as JSON text frames. The same query parameters
 * (symbols, types, maxHz, token, lastEventId), and at any time
 * `{"event":"subscribe"|"unsubscribe","data":{"symbols":[…]|"*","types":[…]}}`, answered by
 * `{"type":"subscribed",…}` and a fresh snapshot for the new filter.
 */
@WebSocketGateway({ path: '/ws' })
export class StreamWsGateway implements OnGatewayConnection {
  private readonly logger = new Logger(StreamWsGateway.name);
  private readonly clients = new WeakMap<WebSocket, StreamClient>();

  constructor(
    private readonly hub: StreamHub,
    private readonly auth: StreamAuth,
    private readonly cors: CorsPolicy,
    private readonly env: GatewayEnv,
    @InjectThrottlerStorage() private readonly throttler: ThrottlerStorage,
  ) {}

  async handleConnection(socket: WebSocket, request: IncomingMessage): Promise<void> {
    const refuse = (code: number, status: number, message: string, errors?: FieldError[]) => {
      socket.send(JSON.stringify({ type: 'error', ...errorBody(status, message, errors) }));
      socket.close(code, message.slice(0, 120));
    };
    if (!this.cors.allowsSocket(request.headers.origin, request.headers.host)) return refuse(CLOSE.forbidden, 403, 'origin not allowed');
    const query = queryOf(new URL(request.url ?? '/', 'http://gateway'));
    if (await this.overLimit(request, query)) return refuse(CLOSE.tooMany, 429, 'too many connections: try again later');
    if (!this.auth.allows(request.headers['x-api-key'], query['token'])) return refuse(CLOSE.unauthorized, 401, 'authentication required');
    const { options, errors } = parseStreamOptions(query, undefined);
    if (!options) return refuse(CLOSE.badRequest, 400, 'invalid stream request', errors);

    const client = this.hub.attach(new WsSink(socket), options);
    this.clients.set(socket, client);
    socket.on('close', () => client.close());
    socket.on('error', () => client.close());
    try {
      await this.hub.start(client, options.lastEventId);
    } catch (error) {
      client.close();
      refuse(CLOSE.unavailable, 503, `stream unavailable: ${(error as Error).message}`);
    }
  }

  /** The same limit as /stream (STREAM_RATE_LIMIT_PER_MIN), counted in the same store. */
  private async overLimit(request: IncomingMessage, query: Record<string, string | string[]>): Promise<boolean> {
    const limit = this.env.STREAM_RATE_LIMIT_PER_MIN;
    if (limit === 0) return false;
    const tracker = rateLimitTracker({ headers: request.headers, query, socket: request.socket });
    const record = await this.throttler.increment(`ws:${tracker}`, RATE_WINDOW_MS, limit, 0, 'default');
    return record.isBlocked;
  }

  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() socket: WebSocket, @MessageBody() data: unknown): Promise<void> {
    return this.change(socket, 'subscribe', data);
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: WebSocket, @MessageBody() data: unknown): Promise<void> {
    return this.change(socket, 'unsubscribe', data);
  }

  private async change(socket: WebSocket, change: 'subscribe' | 'unsubscribe', data: unknown): Promise<void> {
    const client = this.clients.get(socket);
    if (!client || client.isClosed) return;
    const body = (typeof data === 'object' && data !== null ? data : {}) as { symbols?: unknown; types?: unknown };
    const errors: FieldError[] = [];
    const symbols =
      body.symbols === '*' ? '*' : parseSymbols(Array.isArray(body.symbols) ? body.symbols : body.symbols === undefined ? undefined : [String(body.symbols)], 'data.symbols', errors);
    const types = parseTypes(Array.isArray(body.types) ? body.types : body.types === undefined ? undefined : [String(body.types)], 'data.types', errors);
    const next = errors.length ? undefined : change === 'subscribe' ? client.filter.subscribe(symbols, types) : client.filter.unsubscribe(symbols, types);
    if (!(next instanceof StreamFilter)) {
      client.event('error', { type: 'error', ...errorBody(400, `invalid ${change}`, next ? [next] : errors) });
      return;
    }
    client.filter = next;
    client.event('subscribed', { type: 'subscribed', symbols: next.symbols ? [...next.symbols].sort() : '*', types: [...next.types].sort() });
    await this.hub.refresh(client).catch((error: Error) => {
      this.logger.warn(`snapshot after ${change} failed: ${error.message}`);
      client.close();
    });
  }
}
