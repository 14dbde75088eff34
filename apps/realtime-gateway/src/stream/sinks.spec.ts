import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { WsSink } from './sinks';

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
