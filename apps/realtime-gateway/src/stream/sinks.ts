import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Sink } from './client';
import type { Published } from './published';

/** Above this many unsent bytes a closing stream is cut rather than drained. */
const DRAIN_ON_CLOSE_MAX = 64 * 1024;

const CRLF = Buffer.from('\r\n');

/** `bytes` as one HTTP/1.1 chunk (size line, data, CRLF). Never empty: an empty chunk ends the response. */
function httpChunk(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, CRLF]);
}

/** One buffer for every client's heartbeat (a string would be encoded again per write), bare and as an HTTP/1.1 chunk. */
const HEARTBEAT = Buffer.from(': heartbeat\n\n');
const HEARTBEAT_CHUNK = httpChunk(HEARTBEAT);

/**
 * Frames encoded once for many SSE clients, as one HTTP/1.1 chunk and as its data alone (a view
 * of the same memory, for a response that is not chunked): one encoding, no copy.
 */
export function sharedFrames(text: string): { bytes: Buffer; chunk: Buffer } {
  if (!text) return { bytes: Buffer.alloc(0), chunk: Buffer.alloc(0) };
  const length = Buffer.byteLength(text);
  const head = `${length.toString(16)}\r\n`;
  const chunk = Buffer.from(`${head}${text}\r\n`);
  return { bytes: chunk.subarray(head.length, head.length + length), chunk };
}

/** The SSE frame of the common case (id = seq, nothing skipped), built once per message for every client. */
export function sseFrame(message: Published): string {
  return (message.sse ??= `id: ${message.seq}\nevent: ${message.type}\ndata: ${message.raw}\n\n`);
}

function withSkipped(raw: string, skipped: number): string {
  return skipped ? `{"skipped":${skipped},${raw.slice(1)}` : raw;
}

/**
 * The SSE frame of a message with resume point `id` and `skipped` views conflated away before it.
 * No `id` (''): the resume point has not moved since the last id written, and EventSource keeps
 * its last event id for a frame without one, so an id is never written twice on a connection.
 */
export function sseFrameAt(message: Published, id: string, skipped: number): string {
  if (id === message.seq && skipped === 0) return sseFrame(message);
  return `${id ? `id: ${id}\n` : ''}event: ${message.type}\ndata: ${withSkipped(message.raw, skipped)}\n\n`;
}

/**
 * Makes V8 store a string built by concatenation as one flat string, in place (the same string
 * object; its pieces become garbage). Node keeps the head of every response it sent (`_header`)
 * for the response's life, built line by line: about 80 pieces, 2.5 KB per idle stream, where
 * the flat head is about 600 bytes. Converting a string to a number flattens it first.
 */
function flatten(text: unknown): void {
  if (typeof text === 'string') void Number(text);
}

/** What SseSink reads of Node's response beyond its typed API (stable since Node 0.x). */
type RawResponse = ServerResponse & { chunkedEncoding?: boolean; outputData?: unknown[] };

/**
 * Server-Sent Events on a raw response. The headers go out with the first frame, so a
 * stream that fails before it has anything to say can still be answered with a JSON error.
 *
 * Once the head is out, frames go to the response's socket directly, already framed as HTTP/1.1
 * chunks (the shared bytes of a group are framed once for every member): one `socket.write` per
 * client and tick. Through `res.write` each write cost a cork, four buffered writes (size line,
 * CRLF, data, CRLF), a `process.nextTick` to uncork and a four-piece `writev`: in a profile at 1,000
 * clients, Node's HTTP write path took more of the gateway's time than anything but the system
 * call itself. The response is still Node's: its head, its end (the last chunk), its
 * `writableLength` (which counts the socket's) and keep-alive are unchanged.
 */
export class SseSink implements Sink {
  readonly transport = 'sse' as const;
  readonly shareable = true;
  private started = false;
  /** Whether the body is chunked (HTTP/1.1; an HTTP/1.0 request gets a body delimited by the close). Known once the head is built. */
  private chunked = true;

  /** The response headers until they are sent (then released: an idle stream keeps only what it needs). */
  private headers?: Record<string, string>;

  constructor(
    private readonly res: ServerResponse,
    headers: Record<string, string>,
    private readonly retryMs: number,
  ) {
    this.headers = headers;
    const socket = res.socket as Socket | null;
    socket?.setNoDelay(true);
    socket?.setKeepAlive(true, 30_000);
  }

  get headersSent(): boolean {
    return this.started;
  }

  encode(message: Published, id: string, skipped: number): string {
    return sseFrameAt(message, id, skipped);
  }

  encodeEvent(event: string, data: object, id?: string): string {
    return `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  write(frames: readonly string[]): void {
    this.start();
    const text = frames.length === 1 ? frames[0] : frames.join('');
    if (!text) return;
    const socket = this.socket();
    if (!socket) this.res.write(text);
    else socket.write(this.chunked ? `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n` : text);
  }

  /** `chunk`: the same bytes framed as one HTTP/1.1 chunk (sharedFrames), built once for every client. */
  writeBytes(bytes: Buffer, chunk?: Buffer): void {
    if (!bytes.length) return;
    this.start();
    const socket = this.socket();
    if (!socket) this.res.write(bytes);
    else socket.write(this.chunked ? (chunk ?? httpChunk(bytes)) : bytes);
  }

  /**
   * The headers, with the first frame, through Node's response (it builds the head and keeps
   * its state for `end`). Stays chunked HTTP/1.1: writing close-delimited SSE would cost proxies
   * the end-of-stream marker and the connection's reuse.
   */
  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies (nginx) must not buffer the stream.
      'x-accel-buffering': 'no',
      ...this.headers,
    });
    this.headers = undefined;
    this.chunked = (this.res as RawResponse).chunkedEncoding === true;
    // How long a browser waits before reconnecting.
    this.res.write(`retry: ${this.retryMs}\n\n`);
    flatten((this.res as unknown as { _header?: unknown })._header);
  }

  /**
   * The socket, when bytes may go to it directly: the response is the one being written on it
   * (not queued behind an earlier response of a pipelining client) and Node holds none of its
   * output, so what goes to the socket follows what the response wrote. Otherwise `res.write`.
   */
  private socket(): Socket | undefined {
    const res = this.res as RawResponse;
    const socket = res.socket;
    if (!socket?.writable || res.writableEnded || res.outputData?.length) return undefined;
    return (socket as Socket & { _httpMessage?: unknown })._httpMessage === res ? socket : undefined;
  }

  bufferedBytes(): number {
    return this.res.writableLength;
  }

  onDrain(listener: () => void): void {
    // The response relays its socket's drain only after a write through it reported the socket full.
    this.res.on('drain', listener);
    this.res.socket?.on('drain', listener);
  }

  heartbeat(): boolean {
    // A comment line: EventSource ignores it; it keeps proxies from timing the stream out
    // and makes a dead peer show up as a write error.
    if (!this.started) return true;
    const socket = this.socket();
    if (!socket) this.res.write(HEARTBEAT);
    else socket.write(this.chunked ? HEARTBEAT_CHUNK : HEARTBEAT);
    return true;
  }

  close(): void {
    if (this.res.destroyed) return;
    if (this.res.writableLength > DRAIN_ON_CLOSE_MAX) this.res.destroy();
    else this.res.end();
  }
}

/**
 * A WebSocket: every message is its JSON (with `seq`); control events are JSON with their
 * `type`. Liveness by ping/pong: a socket that has not answered the previous ping is dead.
 */
export class WsSink implements Sink {
  readonly transport = 'ws' as const;
  readonly shareable = false;
  private alive = true;

  constructor(private readonly socket: WebSocket) {
    socket.on('pong', () => {
      this.alive = true;
    });
  }

  private get tcp(): Socket | undefined {
    return (this.socket as unknown as { _socket?: Socket })._socket;
  }

  encode(message: Published, _id: string, skipped: number): string {
    return withSkipped(message.raw, skipped);
  }

  encodeEvent(_event: string, data: object): string {
    return JSON.stringify(data);
  }

  /** One WebSocket frame per message; the socket is corked so they leave in one writev. */
  write(frames: readonly string[]): void {
    const tcp = frames.length > 1 ? this.tcp : undefined;
    tcp?.cork();
    for (const frame of frames) this.socket.send(frame);
    tcp?.uncork();
  }

  writeBytes(): void {
    throw new Error('a WebSocket sink writes frames, not shared bytes');
  }

  bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  onDrain(listener: () => void): void {
    this.tcp?.on('drain', listener);
  }

  heartbeat(): boolean {
    if (!this.alive) return false;
    this.alive = false;
    this.socket.ping();
    return true;
  }

  close(): void {
    if (this.socket.readyState >= this.socket.CLOSING) return;
    if (this.socket.bufferedAmount > DRAIN_ON_CLOSE_MAX) this.socket.terminate();
    else this.socket.close(1001, 'closing');
  }
}
