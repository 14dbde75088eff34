/**
 * A minimal EventSource for Node 20 (which has none built in), following the WHATWG
 * algorithm a browser runs: `text/event-stream` parsed line by line (CR, LF or CRLF), `event`,
 * `data` (joined with LF), `id` (kept as the last event id), `retry`; an event is dispatched
 * on a blank line; a dropped stream is reopened after the retry delay with `Last-Event-ID`.
 * Listeners: addEventListener(type, fn) with fn({type, data, lastEventId}); 'open', 'error'.
 */
import { request } from 'node:http';

export class EventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;

  constructor(url, { headers = {} } = {}) {
    this.url = url;
    this.headers = headers;
    this.readyState = EventSource.CONNECTING;
    this.lastEventId = '';
    this.retryMs = 1000;
    this.reconnects = 0;
    this.listeners = new Map();
    this.open();
  }

  addEventListener(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(listener);
  }

  emit(type, event) {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  open() {
    const headers = { accept: 'text/event-stream', 'cache-control': 'no-cache', ...this.headers };
    if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
    const req = request(this.url, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
        res.resume();
        this.fail(req, new Error(`status ${res.statusCode}`), false);
        return;
      }
      this.readyState = EventSource.OPEN;
      this.emit('open', { type: 'open' });
      res.setEncoding('utf8');
      let pending = '';
      let event = { type: '', data: [] };
      res.on('data', (chunk) => {
        pending += chunk;
        const lines = pending.split(/\r\n|\r|\n/);
        // A trailing CR may be the first half of a CRLF: keep it with the partial line.
        pending = lines.pop();
        for (const line of lines) event = this.line(line, event);
      });
      res.on('end', () => this.fail(req, new Error('stream ended'), true));
      res.on('error', (error) => this.fail(req, error, true));
    });
    req.on('error', (error) => this.fail(req, error, true));
    req.end();
    this.request = req;
  }

  line(line, event) {
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
  fail(req, error, reconnect) {
    if (this.readyState === EventSource.CLOSED || req !== this.request || req.failed) return;
    req.failed = true;
    this.emit('error', { type: 'error', error });
    if (!reconnect) {
      this.close();
      return;
    }
    this.readyState = EventSource.CONNECTING;
    this.reconnects += 1;
    setTimeout(() => this.readyState !== EventSource.CLOSED && this.open(), this.retryMs);
  }

  close() {
    this.readyState = EventSource.CLOSED;
    this.request?.destroy();
  }
}
