import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { StreamWsGateway } from './stream.ws-gateway';

/** A socket as the gateway's error handler sees it: ws emits 'error' and the handler closes. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  readyState = 1;
  closedWith?: number;
  close(code: number): void {
    this.closedWith = code;
    this.readyState = this.CLOSING;
  }
  terminate(): void {
    this.readyState = this.CLOSED;
  }
}

describe('StreamWsGateway socket errors', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const connect = () => {
    const refused = jest.fn();
    // The error handler is in place from the first byte: the rest of the handshake is cut short here.
    const cors = {
      allowsSocket: () => {
        throw new Error('stop after the error handler');
      },
    };
    const gateway = new StreamWsGateway(
      { refused } as never,
      {} as never,
      cors as never,
      { WS_SUBSCRIBES_PER_MIN: 10 } as never,
      {} as never,
      {} as never,
      {} as never,
    );
    const socket = new FakeSocket();
    void gateway.handleConnection(socket as unknown as WebSocket, { headers: {}, url: '/ws' } as IncomingMessage).catch(() => undefined);
    return { socket, refused };
  };

  it('closes with 1009 (message too big) for a frame over the max payload, counted', () => {
    const { socket, refused } = connect();
    socket.emit('error', Object.assign(new Error('Max payload size exceeded'), { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' }));
    expect(socket.closedWith).toBe(1009);
    expect(refused).toHaveBeenCalledWith('ws', 'ws_payload');
  });

  it('closes with 1011 for any other socket error, not counted as a payload refusal', () => {
    const { socket, refused } = connect();
    socket.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expect(socket.closedWith).toBe(1011);
    expect(refused).not.toHaveBeenCalled();
  });
});
