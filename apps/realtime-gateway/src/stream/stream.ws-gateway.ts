import type { IncomingMessage } from 'node:http';
import { Logger } from '@nestjs/common';
import { InjectThrottlerStorage, type ThrottlerStorage } from '@nestjs/throttler';
import { GatewayEnv } from '@md/config';
import { ConnectedSocket, MessageBody, type OnGatewayConnection, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import type { FieldError } from '@md/contracts';
import {
  AuthFailureLimiter,
  clientAddress,
  errorBody,
  unavailableBecause,
  RATE_WINDOW_MS,
  TooManyFailuresException,
  trackerOf,
} from '@md/platform';
import type { StreamClient } from './client';
import { AddressStreams } from './address-streams';
import { CorsPolicy } from './cors';
import { parseStreamOptions, parseSymbols, parseTypes, StreamFilter, WS_MAX_PAYLOAD } from './filter';
import { StreamHub } from './hub';
import { WsSink } from './sinks';
import { StreamAuth } from './stream-auth';

/**
 * Close codes: 4400 bad request, 4401 unauthorized, 4403 origin not allowed, 4429 too many
 * connections, 1013 try again later (Redis, or MAX_CLIENTS); 1009 (by ws) a frame over WS_MAX_PAYLOAD.
 */
const CLOSE = { badRequest: 4400, unauthorized: 4401, forbidden: 4403, tooMany: 4429, unavailable: 1013 } as const;
const MESSAGE_TOO_BIG = 1009;
/** Any other socket error (ws has usually closed with its own protocol code already). */
const INTERNAL_ERROR = 1011;

/** A closed socket whose peer has not answered the close frame this long is cut (ws would wait 30 s, reading). */
const CLOSE_GRACE_MS = 1_000;

/** Per connection: a token bucket of subscribe/unsubscribe messages, and the changes applied one at a time. */
interface SocketState {
  client?: StreamClient;
  tokens: number;
  refilledAt: number;
  changes: Promise<void>;
}

/** Closes with a code, then cuts the TCP connection if the peer does not finish the handshake soon. */
function closeAndCut(socket: WebSocket, code: number, reason?: string): void {
  if (socket.readyState < socket.CLOSING) socket.close(code, reason);
  setTimeout(() => {
    if (socket.readyState !== socket.CLOSED) socket.terminate();
  }, CLOSE_GRACE_MS).unref();
}

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
@WebSocketGateway({ path: '/ws', maxPayload: WS_MAX_PAYLOAD })
export class StreamWsGateway implements OnGatewayConnection {
  private readonly logger = new Logger(StreamWsGateway.name);
  private readonly sockets = new WeakMap<WebSocket, SocketState>();

  constructor(
    private readonly hub: StreamHub,
    private readonly auth: StreamAuth,
    private readonly cors: CorsPolicy,
    private readonly env: GatewayEnv,
    @InjectThrottlerStorage() private readonly throttler: ThrottlerStorage,
    private readonly failures: AuthFailureLimiter,
    private readonly perAddress: AddressStreams,
  ) {}

  async handleConnection(socket: WebSocket, request: IncomingMessage): Promise<void> {
    const state: SocketState = { tokens: this.env.WS_SUBSCRIBES_PER_MIN, refilledAt: Date.now(), changes: Promise.resolve() };
    this.sockets.set(socket, state);
    // From the first byte, authenticated or not: a frame over WS_MAX_PAYLOAD makes ws close
    // with 1009 (it reads no more of it); the socket is then cut, not left open to buffer.
    socket.on('error', (error: Error & { code?: string }) => {
      const tooBig = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
      if (tooBig) this.hub.refused('ws', 'ws_payload');
      state.client?.close();
      closeAndCut(socket, tooBig ? MESSAGE_TOO_BIG : INTERNAL_ERROR);
    });
    const refuse = (code: number, status: number, message: string, errors?: FieldError[]) => {
      if (socket.readyState !== socket.OPEN) return;
      socket.send(JSON.stringify({ type: 'error', ...errorBody(status, message, errors) }));
      closeAndCut(socket, code, message.slice(0, 120));
    };
    if (!this.cors.allowsSocket(request.headers.origin, request.headers.host)) return refuse(CLOSE.forbidden, 403, 'origin not allowed');
    const query = queryOf(new URL(request.url ?? '/', 'http://gateway'));
    // Auth first (a failure counts toward AUTH_FAILURES_PER_MIN for the address), then the
    // rate limit of what it verified at that address, as on /stream.
    const address = clientAddress(request, this.env.TRUST_PROXY);
    const identity = this.authenticate(address, request.headers['x-api-key'], query['token']);
    if (identity instanceof TooManyFailuresException) return refuse(CLOSE.tooMany, 429, identity.message);
    if (identity === undefined) return refuse(CLOSE.unauthorized, 401, 'authentication required');
    if (await this.overLimit(trackerOf(identity === 'open' ? undefined : identity, address)))
      return refuse(CLOSE.tooMany, 429, 'too many connections: try again later');
    const { options, errors } = parseStreamOptions(query, undefined);
    if (!options) return refuse(CLOSE.badRequest, 400, 'invalid stream request', errors);
    if (socket.readyState !== socket.OPEN) return;
    if (this.hub.full) {
      this.hub.refused('ws', 'max_clients');
      return refuse(CLOSE.unavailable, 503, 'too many stream connections on this gateway (MAX_CLIENTS): retry later');
    }
    const release = this.perAddress.acquire(address, 'ws');
    if (!release)
      return refuse(CLOSE.tooMany, 429, 'too many streams open from this address (MAX_STREAMS_PER_ADDRESS): close one or retry later');

    const client = this.hub.attach(new WsSink(socket), options);
    state.client = client;
    socket.on('close', () => {
      release();
      client.close();
    });
    // A subscribe sent right after connecting is applied (its `subscribed` written) after the start.
    const started = this.hub.start(client, options.lastEventId);
    state.changes = started.catch(() => undefined);
    try {
      await started;
    } catch (error) {
      client.close();
      refuse(CLOSE.unavailable, 503, unavailableBecause('stream', error).message);
    }
  }

  /** What the upgrade proved (see StreamAuth.identify), or the 429 of an address past AUTH_FAILURES_PER_MIN. */
  private authenticate(address: string, header: unknown, token: unknown): string | TooManyFailuresException | undefined {
    if (!this.auth.required) return 'open';
    try {
      this.failures.check(address, 'stream');
    } catch (error) {
      if (error instanceof TooManyFailuresException) return error;
      throw error;
    }
    const identity = this.auth.identify(header, token);
    if (identity === undefined) this.failures.fail(address, 'stream');
    return identity;
  }

  /** The same limit as /stream (STREAM_RATE_LIMIT_PER_MIN), counted in the same store. */
  private async overLimit(tracker: string): Promise<boolean> {
    const limit = this.env.STREAM_RATE_LIMIT_PER_MIN;
    if (limit === 0) return false;
    const record = await this.throttler.increment(`ws:${tracker}`, RATE_WINDOW_MS, limit, 0, 'default');
    return record.isBlocked;
  }

  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() socket: WebSocket, @MessageBody() data: unknown): Promise<void> {
    return this.queueChange(socket, 'subscribe', data);
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: WebSocket, @MessageBody() data: unknown): Promise<void> {
    return this.queueChange(socket, 'unsubscribe', data);
  }

  /**
   * WS_SUBSCRIBES_PER_MIN per connection (each change costs a snapshot): past it, error 429
   * and the change is not applied. Changes are applied one at a time, so two snapshots never
   * interleave on one socket.
   */
  private queueChange(socket: WebSocket, change: 'subscribe' | 'unsubscribe', data: unknown): Promise<void> {
    const state = this.sockets.get(socket);
    const client = state?.client;
    if (!state || !client || client.isClosed) return Promise.resolve();
    const perMin = this.env.WS_SUBSCRIBES_PER_MIN;
    const now = Date.now();
    state.tokens = Math.min(perMin, state.tokens + ((now - state.refilledAt) * perMin) / 60_000);
    state.refilledAt = now;
    if (state.tokens < 1) {
      this.hub.refused('ws', 'ws_subscribe_rate');
      client.event('error', {
        type: 'error',
        ...errorBody(429, `too many ${change} messages: at most ${perMin} a minute (WS_SUBSCRIBES_PER_MIN); not applied`, [
          { field: 'event', reason: `at most ${perMin} subscribe/unsubscribe a minute` },
        ]),
      });
      return Promise.resolve();
    }
    state.tokens -= 1;
    state.changes = state.changes.then(() => this.change(client, change, data));
    return state.changes;
  }

  private async change(client: StreamClient, change: 'subscribe' | 'unsubscribe', data: unknown): Promise<void> {
    if (client.isClosed) return;
    const body = (typeof data === 'object' && data !== null ? data : {}) as { symbols?: unknown; types?: unknown };
    const errors: FieldError[] = [];
    const symbols =
      body.symbols === '*'
        ? '*'
        : parseSymbols(
            Array.isArray(body.symbols) ? body.symbols : body.symbols === undefined ? undefined : [String(body.symbols)],
            'data.symbols',
            errors,
          );
    const types = parseTypes(
      Array.isArray(body.types) ? body.types : body.types === undefined ? undefined : [String(body.types)],
      'data.types',
      errors,
    );
    const next = errors.length
      ? undefined
      : change === 'subscribe'
        ? client.filter.subscribe(symbols, types)
        : client.filter.unsubscribe(symbols, types);
    if (!(next instanceof StreamFilter)) {
      client.event('error', { type: 'error', ...errorBody(400, `invalid ${change}`, next ? [next] : errors) });
      return;
    }
    client.event('subscribed', {
      type: 'subscribed',
      symbols: next.symbols ? [...next.symbols].sort() : '*',
      types: [...next.types].sort(),
    });
    await this.hub.refresh(client, next).catch((error: Error) => {
      this.logger.warn(`snapshot after ${change} failed: ${error.message}`);
      client.close();
    });
  }
}
