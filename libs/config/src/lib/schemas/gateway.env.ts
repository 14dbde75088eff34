import { IsOptional, Matches, ValidateBy } from 'class-validator';
import { EnvInt } from '../decorators';
import { WithReadAccessEnv } from './read-access.env';
import { ServiceEnv } from './service.env';

const ORIGIN = 'https?://[A-Za-z0-9.-]+(?::\\d{1,5})?';

/** realtime-gateway: the fan-out of the realtime channel to browsers over SSE and WebSocket. */
export class GatewayEnv extends WithReadAccessEnv(ServiceEnv) {
  override PORT: number = 3001;

  /** Lifetime of a stream token; checked when a stream connects (a live stream is not cut). */
  @EnvInt(10, 86_400)
  STREAM_TOKEN_TTL_S: number = 300;

  /** Browser origins allowed to call the gateway cross-origin, comma-separated (none when empty). */
  @IsOptional()
  @Matches(new RegExp(`^(${ORIGIN})?(,${ORIGIN})*$`), { message: 'must be a comma-separated list of http(s)://host[:port] origins' })
  CORS_ORIGINS: string = '';

  /** An SSE comment / WS ping this often; a WS client that missed a pong is closed. */
  @EnvInt(1_000, 300_000)
  HEARTBEAT_MS: number = 15_000;

  /** Stream connections and token requests per minute per API key, token or address (0: no limit). Per replica. */
  @EnvInt(0, 1_000_000)
  STREAM_RATE_LIMIT_PER_MIN: number = 600;

  /** A client whose unsent output passes this many bytes is disconnected (only that client). */
  @EnvInt(16_384, 1_073_741_824)
  CLIENT_BUFFER_MAX_BYTES: number = 4 * 1024 * 1024;

  /**
   * Stream connections (SSE and WS together) one gateway process holds; one more is answered
   * 503 + Retry-After (WS: close 1013). Each costs a socket (a file descriptor: the process's
   * `ulimit -n` must be above it) and about 23 KB of memory while idle (measured: doc/performance.md).
   */
  @EnvInt(1, 1_000_000)
  MAX_CLIENTS: number = 20_000;

  /**
   * Stream connections (SSE and WS together) one client address (IPv6: one /64) holds on one
   * gateway process; one more is answered 429 + Retry-After (WS: close 4429). 0: no cap. 50
   * lets a household or office NAT keep dozens of tabs open while one address needs 1/400 of
   * MAX_CLIENTS. Streams proxied by the dashboard server count against ITS address unless
   * TRUST_PROXY names it (then each visitor's address counts): see doc/security.md.
   */
  @EnvInt(0, 1_000_000)
  MAX_STREAMS_PER_ADDRESS: number = 50;

  /**
   * A snapshot is sent in chunks of about this many bytes (the views of as many symbols as
   * fit; one view at least), each written once the socket has taken the previous ones, so a
   * snapshot of thousands of symbols never passes the client's buffer cap by itself.
   */
  @EnvInt(4_096, 16_777_216)
  @ValidateBy({
    name: 'chunkUnderBuffer',
    validator: {
      validate: (value: unknown, args) => typeof value === 'number' && value * 2 <= (args?.object as GatewayEnv).CLIENT_BUFFER_MAX_BYTES,
      defaultMessage: () => 'must be at most half of CLIENT_BUFFER_MAX_BYTES',
    },
  })
  SNAPSHOT_CHUNK_BYTES: number = 64 * 1024;

  /** WS subscribe/unsubscribe messages one connection may send per minute; past it they are refused (error 429), not applied. */
  @EnvInt(1, 100_000)
  WS_SUBSCRIBES_PER_MIN: number = 60;

  /**
   * A client's messages are gathered for up to this many ms and written with one call (0: at
   * the end of the event-loop turn). The cost of a socket write is per call, not per byte: with
   * thousands of clients, one write per message per client is what limits the fan-out. 50 ms
   * halves the writes of 25 ms (1,000 clients at 100 messages/s: about 1.3× the messages per
   * gateway CPU-second, medians of runs) and keeps a tick's view on a screen well inside 100 ms
   * (doc/performance.md, "Issue 18: the bench's clients and the write window").
   */
  @EnvInt(0, 1_000)
  STREAM_FLUSH_MS: number = 50;

  /**
   * Connections the kernel queues for the gateway before it accepts them (the `listen` backlog;
   * the kernel caps it at net.core.somaxconn). Node's default, 511, overflows in a reconnect storm
   * of thousands of browsers: the overflow is reset or retried, not queued.
   */
  @EnvInt(1, 65_535)
  LISTEN_BACKLOG: number = 4_096;
}
