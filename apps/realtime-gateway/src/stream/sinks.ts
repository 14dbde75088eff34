import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Sink } from './client';
import type { Published } from './published';

/** Above this many unsent bytes a closing stream is cut rather than drained. */
const DRAIN_ON_CLOSE_MAX = 64 * 1024;

/** One buffer for every client's heartbeat (a string would be encoded again per write). */
const HEARTBEAT = Buffer.from(': heartbeat\n\n');

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

/**
 * Server-Sent Events on a raw response. The headers go out with the first frame, so a
 * stream that fails before it has anything to say can still be answered with a JSON error.
 */
export class SseSink implements Sink {
  readonly transport = 'sse' as const;
  readonly shareable = true;
  private started = false;

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
    this.res.write(frames.length === 1 ? frames[0] : frames.join(''));
  }

  writeBytes(bytes: Buffer): void {
    this.start();
    this.res.write(bytes);
  }

  /**
   * The headers, with the first frame. The response stays chunked (HTTP/1.1): Node corks a
   * response's socket for the rest of the tick, so a chunk's size line, data and CRLF leave in
   * the same writev as the frames (checked with strace). Writing close-delimited SSE on the raw
   * socket would save those few bytes and no system call, and would cost proxies the
   * end-of-stream marker and the connection's reuse.
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
    // How long a browser waits before reconnecting.
    this.res.write(`retry: ${this.retryMs}\n\n`);
    flatten((this.res as unknown as { _header?: unknown })._header);
  }

  bufferedBytes(): number {
    return this.res.writableLength;
  }

  onDrain(listener: () => void): void {
    this.res.on('drain', listener);
  }

  heartbeat(): boolean {
    // A comment line: EventSource ignores it; it keeps proxies from timing the stream out
    // and makes a dead peer show up as a write error.
    if (this.started) this.res.write(HEARTBEAT);
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
