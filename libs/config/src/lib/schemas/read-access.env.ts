import { EnvBool, EnvInt, EnvReadApiKey, EnvTrustProxy } from '../decorators';
import type { TrustProxy } from '../secrets-policy';
import type { BaseEnv } from './service.env';

// TypeScript's mixin pattern requires a constructor of exactly `...args: any[]`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EnvClass = new (...args: any[]) => BaseEnv;

/**
 * Who may read, declared once for the two services that serve reads: the api (read API) and
 * the realtime-gateway (streams, opened with the same API_KEY). A mixin rather than a class in
 * the chain, because the api reaches ServiceEnv through PipelineEnv and the gateway does not.
 */
export function WithReadAccessEnv<TBase extends EnvClass>(Base: TBase) {
  class ReadAccessEnv extends Base {
    /**
     * When set, the api's read API and the gateway's streams require it in `x-api-key` (a stream
     * may instead bring a token from the gateway's POST /stream/token, which needs the key;
     * tokens are signed with a key derived from it). Required with NODE_ENV=production unless
     * READ_API_OPEN.
     */
    @EnvReadApiKey()
    API_KEY?: string;

    /** With NODE_ENV=production and no API_KEY, the service starts only when this says the read API and streams are meant to be open. */
    @EnvBool()
    READ_API_OPEN: boolean = false;

    /** Whose X-Forwarded-For to believe for the client address (rate limits, auth failures): off by default. */
    @EnvTrustProxy()
    TRUST_PROXY: TrustProxy = false;

    /**
     * Failed authentications per client address and minute before 429: on the api ingest Basic
     * Auth, /admin/queues and x-api-key; on the gateway x-api-key and stream tokens.
     */
    @EnvInt(1, 100_000)
    AUTH_FAILURES_PER_MIN: number = 20;
  }
  return ReadAccessEnv;
}
