import { IsOptional, Matches } from 'class-validator';
import { EnvInt, EnvOptionalString } from '../decorators';
import { ServiceEnv } from './service.env';

const ORIGIN = 'https?://[A-Za-z0-9.-]+(?::\\d{1,5})?';

/** realtime-gateway: the fan-out of the realtime channel to browsers over SSE and WebSocket. */
export class GatewayEnv extends ServiceEnv {
  override PORT: number = 3001;

  /**
   * When set, a stream needs it in `x-api-key`, or a token from POST /stream/token (which
   * needs it). The same key as the api's read API. Tokens are signed with a key derived from it.
   */
  @EnvOptionalString({ min: 16, max: 256 })
  API_KEY?: string;

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
}
