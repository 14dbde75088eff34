import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** An answer: its status, headers and body. */
export interface JsonAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface JsonPosterOptions {
  /** A post's whole time, connection to the answer's last byte; past it the post rejects. */
  timeoutMs: number;
  /** The answer's size at most; a larger one rejects, however well formed. Default 1 MiB. */
  answerMaxBytes?: number;
  /**
   * How long a connection stays open unused. Default 4 s: below the server's keep-alive timeout
   * (Node's default is 5 s), so the server never closes one just as a post starts on it.
   */
  idleSocketMs?: number;
  /** Headers of every post (credentials, say); content-type and content-length are set here. */
  headers: Record<string, string>;
}

const DEFAULT_ANSWER_MAX_BYTES = 1 << 20;
const DEFAULT_IDLE_SOCKET_MS = 4_000;

/**
 * POSTs JSON to one URL over kept-alive connections, through node:http or node:https by the
 * URL's protocol. For the services' own clients (calc-b's view post, the feeder): fetch's
 * per-request machinery (its Request, abort signal and streams) cost calc-b a fifth to
 * two-fifths of its CPU (doc/performance.md, session 11).
 *
 * A redirect is never followed: a 3xx is an answer like any other, so the credentials in
 * `headers` reach `url` and nothing else. Network errors, the timeout and an oversized answer
 * reject (and drop the connection); every status resolves.
 *
 * The agent is never destroyed: a caller's shutdown may still wait for posts on its sockets,
 * and an unused socket is unref'd by Node (it never holds the process) and closes after
 * `idleSocketMs`.
 */
export class JsonPoster {
  readonly url: URL;
  private readonly agent: HttpAgent;
  /** node:http's or node:https's request, by the URL's protocol (as the agent is). */
  private readonly request: typeof httpRequest;
  private readonly timeoutMs: number;
  private readonly answerMaxBytes: number;
  private readonly headers: Record<string, string>;

  constructor(url: string | URL, options: JsonPosterOptions) {
    this.url = new URL(url);
    const https = this.url.protocol === 'https:';
    this.request = https ? httpsRequest : httpRequest;
    this.agent = new (https ? HttpsAgent : HttpAgent)({ keepAlive: true, timeout: options.idleSocketMs ?? DEFAULT_IDLE_SOCKET_MS });
    this.timeoutMs = options.timeoutMs;
    this.answerMaxBytes = options.answerMaxBytes ?? DEFAULT_ANSWER_MAX_BYTES;
    this.headers = options.headers;
  }

  /** One POST of `body` (JSON text). */
  post(body: string): Promise<JsonAnswer> {
    const { timeoutMs, answerMaxBytes, headers } = this;
    return new Promise((resolve, reject) => {
      const request = this.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= answerMaxBytes) return void chunks.push(chunk);
            // Also when the whole answer came in this one chunk: then 'end' follows all the same.
            fail(new Error(`POST ${this.url}: answer over ${answerMaxBytes} bytes`));
            request.destroy();
          });
          response.on('end', () => {
            if (size > answerMaxBytes) return;
            clearTimeout(timer);
            resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') });
          });
          response.on('error', fail);
        },
      );
      const timer = setTimeout(() => request.destroy(new Error(`POST ${this.url}: no answer within ${timeoutMs} ms`)), timeoutMs);
      function fail(error: Error): void {
        clearTimeout(timer);
        reject(error);
      }
      request.on('error', fail);
      request.end(body);
    });
  }
}
