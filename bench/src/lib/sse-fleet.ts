/**
 * Many SSE clients in one child process (fork), for the fan-out scenarios: raw sockets and a
 * scanner instead of a full parser, so that thousands of clients cost the shared cores as
 * little as possible and the measurement is of the server, not of the clients. Each client
 * reads its stream as fast as it comes, as a browser tab would. (Not @md/testing's SseClient:
 * that one parses and keeps every event, which 5,000 clients at 100 messages/s cannot afford.)
 *
 * The response head and the snapshot are read as text; the live stream after them goes to an
 * SseScanner (sse-scanner.ts), which reads the bytes without decoding them. What is recorded
 * per message: fleet-window.ts.
 */
import net from 'node:net';
import { type FleetClient, type FleetConnectOptions, type FleetState, now, serveFleet } from './fleet-window';
import { SseScanner } from './sse-scanner';

const clients = new Set<FleetClient>();
/**
 * Every socket of the process reads into this one buffer (net's `onread`): no Buffer and no
 * stream event per read. What a client keeps of a read (a frame cut by its end) it copies.
 */
const READ_BUFFER = Buffer.alloc(64 * 1024);
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
class SseFleetClient implements FleetClient {
  ready = false;
  closed = false;
  lastSeqMs?: number;
  lastSeqN?: number;
  phase?: { firstMs: number; firstN: number; received: number };
  phaseResets?: number;
  lastBeatAt?: number;
  /** Bytes of the response head and snapshot, until the stream is live. */
  private head?: Buffer;
  private scanner?: SseScanner;
  /** When the read being scanned arrived. */
  private receivedAt = 0;
  private failure?: string;
  private readonly socket: net.Socket;

  constructor(
    private readonly options: FleetConnectOptions,
    private readonly state: FleetState,
    private readonly onReady: (ok: boolean) => void,
  ) {
    const socket = net.connect({
      host: options.host,
      port: options.port,
      onread: {
        buffer: READ_BUFFER,
        callback: (length) => {
          this.onData(READ_BUFFER.subarray(0, length));
          return true;
        },
      },
    });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      const headers = Object.entries(options.headers ?? {})
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nAccept: text/event-stream\r\n${headers}\r\n`);
    });
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
    const window = this.state.window;
    window.bytes += chunk.length;
    if (this.scanner) {
      this.receivedAt = now();
      this.scanner.push(chunk);
      return;
    }
    const head = this.head ? Buffer.concat([this.head, chunk]) : chunk;
    const text = head.toString('latin1');
    if (!text.startsWith('HTTP/1.1 200')) {
      if (text.length >= 12) {
        this.failure ??= `HTTP ${text.slice(9, 12)}`;
        this.socket.destroy();
      }
      this.head = Buffer.from(head);
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
      this.head = Buffer.from(head);
      return;
    }
    this.head = undefined;
    this.ready = true;
    this.onReady(true);
    this.scanner = new SseScanner(
      (message) => this.state.window.message(this, this.receivedAt, message),
      () => this.state.window.heartbeat(this, this.receivedAt),
      this.options.viewTs,
      (event) => {
        if (event !== 'reset') return;
        this.state.window.resets += 1;
        this.phaseResets = (this.phaseResets ?? 0) + 1;
      },
    );
    this.receivedAt = now();
    this.scanner.push(head.subarray(end + 2));
  }

  close(): void {
    this.socket.destroy();
  }
}

serveFleet({
  clients,
  open: (options, state, onReady) => clients.add(new SseFleetClient(options, state, onReady)),
});
