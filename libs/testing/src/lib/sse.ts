import { request, type IncomingMessage } from 'node:http';
import { waitUntil } from './http';

export interface SseEvent {
  id?: string;
  event: string;
  /** The data parsed as JSON (the gateway sends JSON), or the text when it is not. */
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * A Server-Sent Events client as a browser's EventSource reads a stream: `id:` lines set the
 * last event id, comments (heartbeats) are counted, events are kept in order. Unlike an
 * EventSource it can stop reading (to play a slow client) and exposes the status and body
 * of a refused connection.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  lastEventId?: string;
  comments = 0;
  retry?: number;
  ended = false;
  private buffer = '';

  private constructor(
    readonly status: number,
    readonly headers: IncomingMessage['headers'],
    private readonly response: IncomingMessage,
    /** The body of a non-200 answer. */
    readonly body?: any, // eslint-disable-line @typescript-eslint/no-explicit-any
  ) {}

  /** Resolves once the response headers (and, for a refusal, its body) have arrived. */
  static connect(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // keep the text
            }
            resolve(new SseClient(res.statusCode ?? 0, res.headers, res, body));
          });
          return;
        }
        const client = new SseClient(200, res.headers, res);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.feed(chunk));
        res.on('close', () => (client.ended = true));
        res.on('error', () => (client.ended = true));
        resolve(client);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Events of a type (realtime messages by their `type`). */
  of(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  waitFor(check: (client: SseClient) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    return waitUntil(() => check(this), what, timeoutMs);
  }

  /** Stops reading: what the server writes piles up in the kernel and then in the server. */
  pause(): void {
    this.response.pause();
  }

  close(): void {
    this.response.destroy();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.parse(block);
    }
  }

  private parse(block: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    let fields = 0;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments += 1;
        continue;
      }
      const colon = line.indexOf(':');
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      fields += 1;
      if (name === 'event') event = value;
      else if (name === 'data') data.push(value);
      else if (name === 'id') id = value;
      else if (name === 'retry') this.retry = Number(value);
    }
    if (id !== undefined) this.lastEventId = id;
    if (!fields || !data.length) return;
    const text = data.join('\n');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text
    }
    this.events.push({ id, event, data: parsed });
  }
}
