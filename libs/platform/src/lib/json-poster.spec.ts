import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JsonPoster } from './json-poster';

describe('JsonPoster (against a real local server)', () => {
  const servers: Server[] = [];
  const serve = async (handler: RequestListener) => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/in` };
  };
  const posterFor = (url: string, options: Partial<ConstructorParameters<typeof JsonPoster>[1]> = {}) =>
    new JsonPoster(url, {
      timeoutMs: 2_000,
      answerMaxBytes: 1024,
      idleSocketMs: 1_000,
      headers: { authorization: 'Basic eDp5' },
      ...options,
    });

  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('posts the body with its headers and resolves any status with the answer’s headers and text', async () => {
    const seen: { headers: IncomingHttpHeaders; body: string }[] = [];
    const { url } = await serve((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        seen.push({ headers: req.headers, body });
        res.writeHead(503, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"statusCode":503}');
      });
    });

    const answer = await posterFor(url).post('{"a":"é"}');

    expect(answer).toMatchObject({ status: 503, text: '{"statusCode":503}' });
    expect(answer.headers['retry-after']).toBe('7');
    expect(seen).toEqual([
      {
        body: '{"a":"é"}',
        headers: expect.objectContaining({ authorization: 'Basic eDp5', 'content-type': 'application/json', 'content-length': '10' }),
      },
    ]);
  });

  it('does not follow a redirect: the 3xx is the answer, and its target is never reached', async () => {
    let reached = 0;
    const { url: elsewhere } = await serve((_req, res) => ((reached += 1), res.end('{}')));
    const { url } = await serve((req, res) => (req.resume(), res.writeHead(307, { location: elsewhere }).end()));

    const answer = await posterFor(url).post('{}');

    expect(answer.status).toBe(307);
    expect(answer.headers.location).toBe(elsewhere);
    expect(reached).toBe(0);
  });

  it('posts on one kept-alive connection, not a connection per post', async () => {
    let connections = 0;
    const { server, url } = await serve((req, res) => (req.resume(), req.on('end', () => res.end('{}'))));
    server.on('connection', () => (connections += 1));
    const poster = posterFor(url);

    for (let i = 0; i < 3; i++) await expect(poster.post('{}')).resolves.toMatchObject({ status: 200 });

    expect(connections).toBe(1);
  });

  it('closes a connection left unused for idleSocketMs, so the server never closes it under a post', async () => {
    const { server, url } = await serve((req, res) => (req.resume(), req.on('end', () => res.end('{}'))));
    server.keepAliveTimeout = 60_000; // the server would keep it: only the poster can close it within the test
    const closed = new Promise<void>((resolve) => server.on('connection', (socket) => socket.on('close', () => resolve())));

    await expect(posterFor(url, { idleSocketMs: 100 }).post('{}')).resolves.toMatchObject({ status: 200 });

    await closed;
  });

  it('rejects an answer over answerMaxBytes, however well formed', async () => {
    const { url } = await serve((req, res) => (req.resume(), res.end(`{"pad":"${' '.repeat(4096)}"}`)));

    await expect(posterFor(url).post('{}')).rejects.toThrow(`POST ${url}: answer over 1024 bytes`);
  });

  it('rejects when no answer comes within timeoutMs', async () => {
    const { url } = await serve(() => undefined);

    await expect(posterFor(url, { timeoutMs: 300 }).post('{}')).rejects.toThrow(`POST ${url}: no answer within 300 ms`);
  });
});
