/**
 * Many SSE clients in one child process (fork), for the fan-out scenarios: raw sockets and a
 * scanner instead of a full parser, so that thousands of clients cost the shared cores as
 * little as possible and the measurement is of the server, not of the clients. Each client
 * reads its stream as fast as it comes, as a browser tab would. (Not @md/testing's SseClient:
 * that one parses and keeps every event, which 5,000 clients at 100 messages/s cannot afford.)
 *
 * The scanner reads each chunk as latin1 text and, per message, finds `"seq":"…"` (every
 * realtime message starts with it), then `"receivedAt":<ms>`, and with `viewTs` the view's
 * `"ts":<ms>`; a message cut by the end of a chunk waits for the next one. Chunked-encoding
 * size lines sit between frames (one chunk per write), so they never split a field. What is
 * recorded per message: fleet-window.ts.
 */
import net from 'node:net';
import { type FleetClient, type FleetConnectOptions, type FleetState, now, serveFleet } from './fleet-window';

const clients = new Set<FleetClient>();
/**
 * Why connections failed before they were live (an HTTP status, a socket error code, or `closed`),
 * printed on stderr (the bench's log) while they change: the connect answer only counts them.
 */
const failures = new Map<string, number>();
let failuresPrinted = 0;
setInterval(() => {
  const total = [...failures.values()].reduce((s, n) => s + n, 0);
  if (total === failuresPrinted) return;
  failuresPrinted = total;
  process.stderr.write(`sse-fleet ${process.pid}: ${total} failed before live: ${JSON.stringify(Object.fromEntries(failures))}\n`);
}, 5_000).unref();
const failed = (reason: string) => failures.set(reason, (failures.get(reason) ?? 0) + 1);
const SEQ = '"seq":"';
const RECEIVED = '"receivedAt":';
const VIEW_TS = '"view":{';
const HEARTBEAT = ': heartbeat';
/** Text kept before a message cut by the end of a chunk: enough for a `{"skipped":n,` in front of its seq. */
const KEEP = 40;

/** The integer at `at` in `text`, or undefined when the text ends inside it (more may come). */
function integerAt(text: string, at: number): { value: number; end: number } | undefined {
  let end = at;
  while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
  return end === at || end === text.length ? undefined : { value: Number(text.slice(at, end)), end };
}

class SseFleetClient implements FleetClient {
  ready = false;
  closed = false;
  lastSeq?: string;
  lastBeatAt?: number;
  private text = '';
  private failure?: string;
  private readonly socket: net.Socket;

  constructor(
    private readonly options: FleetConnectOptions,
    private readonly state: FleetState,
    private readonly onReady: (ok: boolean) => void,
  ) {
    const socket = net.connect({ host: options.host, port: options.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      const headers = Object.entries(options.headers ?? {})
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nAccept: text/event-stream\r\n${headers}\r\n`);
    });
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (this.failure ??= error.code ?? error.message));
    socket.on('close', () => {
      this.closed = true;
      clients.delete(this);
      if (this.ready) return;
      failed(this.failure ?? 'closed');
      this.onReady(false);
    });
  }

  private onData(chunk: Buffer): void {
    const at = now();
    const window = this.state.window;
    window.bytes += chunk.length;
    const raw = chunk.toString('latin1');
    // Heartbeat comments (a chunk of their own on an idle stream): counted, and their punctuality.
    for (let at0 = raw.indexOf(HEARTBEAT); at0 >= 0; at0 = raw.indexOf(HEARTBEAT, at0 + HEARTBEAT.length)) window.heartbeat(this, at);
    const text = this.text ? this.text + raw : raw;
    let pos = 0;
    if (!this.ready) {
      if (!text.startsWith('HTTP/1.1 200')) {
        if (text.length >= 12) {
          this.failure ??= `HTTP ${text.slice(9, 12)}`;
          this.socket.destroy();
        }
        this.text = text;
        return;
      }
      // Live messages start after the snapshot: its last chunk (a large one comes in several, all but the last with "more":true).
      let end = -1;
      for (let snapshot = text.indexOf('event: snapshot'); snapshot >= 0; snapshot = text.indexOf('event: snapshot', snapshot + 1)) {
        const frameEnd = text.indexOf('\n\n', snapshot);
        if (frameEnd < 0) break;
        if (!text.slice(snapshot, snapshot + 120).includes('"more":true')) {
          end = frameEnd;
          break;
        }
      }
      if (end < 0) {
        this.text = text;
        return;
      }
      this.ready = true;
      this.onReady(true);
      pos = end + 2;
    }
    for (;;) {
      const seqAt = text.indexOf(SEQ, pos);
      if (seqAt < 0) {
        pos = Math.max(pos, text.length - KEEP);
        break;
      }
      const seqEnd = text.indexOf('"', seqAt + SEQ.length);
      const receivedAt = seqEnd < 0 ? -1 : text.indexOf(RECEIVED, seqEnd);
      const next = seqEnd < 0 ? -1 : text.indexOf(SEQ, seqEnd);
      const received = receivedAt < 0 || (next >= 0 && receivedAt > next) ? undefined : integerAt(text, receivedAt + RECEIVED.length);
      if (seqEnd < 0 || (received === undefined && next < 0)) {
        pos = Math.max(pos, seqAt - KEEP); // the message goes on in the next chunk
        break;
      }
      const seq = text.slice(seqAt + SEQ.length, seqEnd);
      let viewTs: number | undefined;
      if (this.options.viewTs) {
        const view = text.indexOf(VIEW_TS, seqEnd);
        const ts = view < 0 || (next >= 0 && view > next) ? -1 : text.indexOf('"ts":', view);
        viewTs = ts < 0 ? undefined : integerAt(text, ts + 5)?.value;
      }
      // A conflated view is written as {"skipped":n,"seq":…}.
      const open = text.lastIndexOf('{', seqAt);
      const skipped = open > seqAt - KEEP && text.startsWith('{"skipped":', open) ? integerAt(text, open + 11)?.value : 0;
      const type = text.startsWith(',"type":"tick.received"', seqEnd + 1) ? 'tick.received' : 'symbol.updated';
      window.message(this, at, type, { seq, receivedAt: received?.value, viewTs, skipped });
      pos = received ? received.end : next;
    }
    this.text = pos >= text.length ? '' : text.slice(pos);
  }

  close(): void {
    this.socket.destroy();
  }
}

serveFleet({
  clients,
  open: (options, state, onReady) => clients.add(new SseFleetClient(options, state, onReady)),
});
