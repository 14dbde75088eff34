import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventSource, type EventSourceMessage } from './event-source';
import { waitUntil } from './http';

describe('EventSource', () => {
  let server: Server;
  let url: string;
  const requests: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.headers);
      if (req.url === '/refused') {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (requests.length === 1) {
        // CRLF and CR line ends, a comment, a retry, a two-line data field; then the stream drops.
        res.end(': hello\r\nretry: 20\r\nid: 1\r\nevent: tick\r\ndata: a\rdata: b\r\n\r\nid: 2\nevent: tick\ndata: c\n\n');
      } else {
        res.write('id: 3\nevent: tick\ndata: d\n\n');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('parses events as a browser does and reconnects with Last-Event-ID after the retry delay', async () => {
    const events: EventSourceMessage[] = [];
    const source = new EventSource(`${url}/stream`);
    source.addEventListener('tick', (event) => events.push(event));
    await waitUntil(() => events.length === 3, 'three events');
    source.close();
    expect(events.map((e) => [e.data, e.lastEventId])).toEqual([
      ['a\nb', '1'],
      ['c', '2'],
      ['d', '3'],
    ]);
    expect(source.reconnects).toBe(1);
    expect(source.retryMs).toBe(20);
    expect(requests[1]['last-event-id']).toBe('2');
  });

  it('gives up on a refusal, as a browser does', async () => {
    const errors: Error[] = [];
    const source = new EventSource(`${url}/refused`);
    source.addEventListener('error', (event) => errors.push(event.error));
    await waitUntil(() => errors.length === 1, 'the error');
    expect(errors[0].message).toBe('status 401');
    expect(source.readyState).toBe(EventSource.CLOSED);
    expect(source.reconnects).toBe(0);
  });
});
