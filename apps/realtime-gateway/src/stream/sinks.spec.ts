import { EventEmitter, once } from 'node:events';
import { createServer, get, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import { sharedFrames, SseSink, WsSink } from './sinks';

/** Just what WsSink uses of a ws WebSocket. */
class FakeSocket extends EventEmitter {
  readonly CLOSING = 2;
  readyState = 1;
  bufferedAmount = 0;
  pings = 0;
  closed?: 'close' | 'terminate';
  ping(): void {
    this.pings += 1;
  }
  close(): void {
    this.closed = 'close';
  }
  terminate(): void {
    this.closed = 'terminate';
  }
}

describe('WsSink heartbeat', () => {
  it('pings each beat, and reports the peer dead when the previous ping got no pong', () => {
    const socket = new FakeSocket();
    const sink = new WsSink(socket as unknown as WebSocket);
    expect(sink.heartbeat()).toBe(true);
    socket.emit('pong');
    expect(sink.heartbeat()).toBe(true);
    expect(socket.pings).toBe(2);
    // No pong since the second ping: dead.
    expect(sink.heartbeat()).toBe(false);
    expect(socket.pings).toBe(2);
  });

  it('cuts a socket with much unsent output instead of waiting for a close handshake', () => {
    const socket = new FakeSocket();
    socket.bufferedAmount = 1024 * 1024;
    new WsSink(socket as unknown as WebSocket).close();
    expect(socket.closed).toBe('terminate');
  });
});

describe('SseSink on a real response', () => {
  let server: Server;
  let port: number;
  let serve: (res: ServerResponse) => void;

  beforeEach(async () => {
    server = createServer((_req, res) => serve(res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  const tick = sharedFrames('id: 1-0\nevent: symbol.updated\ndata: {"seq":"1-0"}\n\n');
  const event = 'event: reset\ndata: {"type":"reset"}\n\n';

  it('writes a shared tick as one socket write of one whole HTTP/1.1 chunk, and the stream decodes and ends cleanly', async () => {
    const writesPerCall: number[] = [];
    serve = (res) => {
      const sink = new SseSink(res, { 'x-test': '1' }, 1000);
      sink.write([event]);
      const socket = res.socket as NonNullable<typeof res.socket>;
      const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
      let writes = 0;
      socket.write = ((...args: unknown[]) => ((writes += 1), write(...args))) as typeof socket.write;
      for (let i = 0; i < 2; i += 1) {
        writes = 0;
        sink.writeBytes(tick.bytes, tick.chunk);
        writesPerCall.push(writes);
      }
      sink.heartbeat();
      sink.close();
    };
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) => get(`http://127.0.0.1:${port}/`, resolve));
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (text: string) => (body += text));
    await once(res, 'end');
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['x-test']).toBe('1');
    expect(body).toBe(`retry: 1000\n\n${event}${tick.bytes.toString()}${tick.bytes.toString()}: heartbeat\n\n`);
    // Through res.write a chunk took four socket writes (size line, CRLF, data, CRLF).
    expect(writesPerCall).toEqual([1, 1]);
  });

  it('writes the bare frames to an HTTP/1.0 client (no chunked encoding), delimited by the close', async () => {
    serve = (res) => {
      const sink = new SseSink(res, {}, 1000);
      sink.writeBytes(tick.bytes, tick.chunk);
      sink.write([event]);
      sink.close();
    };
    const socket = connect(port, '127.0.0.1');
    socket.write('GET / HTTP/1.0\r\n\r\n');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    await once(socket, 'end');
    const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
    expect(head).not.toMatch(/transfer-encoding/i);
    expect(body).toBe(`retry: 1000\n\n${tick.bytes.toString()}${event}`);
  });

  it('reports the drain of a backlog written straight to the socket', async () => {
    const big = sharedFrames(`data: ${'x'.repeat(256 * 1024)}\n\n`);
    let sink: SseSink | undefined;
    let drains = 0;
    serve = (res) => {
      sink = new SseSink(res, {}, 1000);
      sink.onDrain(() => (drains += 1));
      sink.write([event]);
    };
    const req = get(`http://127.0.0.1:${port}/`);
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) => req.on('response', resolve));
    res.pause();
    // A reader that does not read: past what the kernel takes, the rest waits in Node.
    for (let i = 0; i < 400 && (sink?.bufferedBytes() ?? 0) < 1024 * 1024; i += 1) sink?.writeBytes(big.bytes, big.chunk);
    expect(sink?.bufferedBytes()).toBeGreaterThan(1024 * 1024);
    expect(drains).toBe(0);
    res.resume();
    while (drains === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sink?.bufferedBytes()).toBe(0);
    req.destroy();
  });
});
