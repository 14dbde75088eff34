import { type ClientRequest, request } from 'node:http';

export interface EventSourceMessage {
  type: string;
  data: string;
  lastEventId: string;
}

export interface EventSourceError {
  type: 'error';
  error: Error;
}

type Listener = (event: EventSourceMessage) => void;

interface PendingEvent {
  type: string;
  data: string[];
}

/**
 * A minimal EventSource for Node 20 (which has none built in), following the WHATWG
 * algorithm a browser runs: `text/event-stream` parsed line by line (CR, LF or CRLF), `event`,
 * `data` (joined with LF), `id` (kept as the last event id), `retry`; an event is dispatched
 * on a blank line; a dropped stream is reopened after the retry delay with `Last-Event-ID`.
 * Unlike SseClient (one connection, every event kept), it reconnects as a browser does and
 * keeps nothing: for long-running clients such as the bench's (`reconnects` counts the reopens).
 * Listeners: addEventListener(type, fn) with fn({type, data, lastEventId}); 'open', 'error'.
 */
export class EventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;

  readyState: number = EventSource.CONNECTING;
  lastEventId = '';
  retryMs = 1000;
  reconnects = 0;
  private readonly listeners = new Map<string, Listener[]>();
  private readonly errorListeners: ((event: EventSourceError) => void)[] = [];
  private request?: ClientRequest;
  /** Requests whose end was reported already: the end of a stream can be reported by several events. */
  private readonly failed = new WeakSet<ClientRequest>();

  constructor(
    readonly url: string,
    private readonly options: { headers?: Record<string, string> } = {},
  ) {
    this.open();
  }

  addEventListener(type: 'error', listener: (event: EventSourceError) => void): void;
  addEventListener(type: string, listener: Listener): void;
  addEventListener(type: string, listener: Listener | ((event: EventSourceError) => void)): void {
    if (type === 'error') {
      this.errorListeners.push(listener as (event: EventSourceError) => void);
      return;
    }
    const list = this.listeners.get(type) ?? [];
    list.push(listener as Listener);
    this.listeners.set(type, list);
  }

  close(): void {
    this.readyState = EventSource.CLOSED;
    this.request?.destroy();
  }

  private emit(type: string, event: EventSourceMessage): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  private open(): void {
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache', ...this.options.headers };
    if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
    const req = request(this.url, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
        res.resume();
        this.fail(req, new Error(`status ${res.statusCode}`), false);
        return;
      }
      this.readyState = EventSource.OPEN;
      this.emit('open', { type: 'open', data: '', lastEventId: this.lastEventId });
      res.setEncoding('utf8');
      let pending = '';
      let event: PendingEvent = { type: '', data: [] };
      res.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split(/\r\n|\r|\n/);
        // A trailing CR may be the first half of a CRLF: keep it with the partial line.
        pending = lines.pop() ?? '';
        for (const line of lines) event = this.line(line, event);
      });
      res.on('end', () => this.fail(req, new Error('stream ended'), true));
      res.on('error', (error) => this.fail(req, error, true));
    });
    req.on('error', (error) => this.fail(req, error, true));
    req.end();
    this.request = req;
  }

  private line(line: string, event: PendingEvent): PendingEvent {
    if (line === '') {
      if (event.data.length) {
        const type = event.type || 'message';
        this.emit(type, { type, data: event.data.join('\n'), lastEventId: this.lastEventId });
      }
      return { type: '', data: [] };
    }
    if (line.startsWith(':')) return event;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event.type = value;
    else if (field === 'data') event.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return event;
  }

  /** Once per request: the end of a stream can be reported by several events. */
  private fail(req: ClientRequest, error: Error, reconnect: boolean): void {
    if (this.readyState === EventSource.CLOSED || req !== this.request || this.failed.has(req)) return;
    this.failed.add(req);
    for (const listener of this.errorListeners) listener({ type: 'error', error });
    if (!reconnect) {
      this.close();
      return;
    }
    this.readyState = EventSource.CONNECTING;
    this.reconnects += 1;
    setTimeout(() => this.readyState !== EventSource.CLOSED && this.open(), this.retryMs);
  }
}
