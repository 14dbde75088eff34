import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UnrecoverableError } from 'bullmq';
import { ConsumersEnv, validateEnv } from '@md/config';
import { referenceView } from '@md/market-calc';
import { ViewPoster } from './calc-b.service';

/**
 * How calc-b treats the api's answers, against a real HTTP server on loopback: retryable
 * failures throw plain errors (BullMQ retries with backoff), other 4xx throw
 * UnrecoverableError (retrying the same view cannot help).
 */
describe('ViewPoster', () => {
  let server: Server;
  let status = 200;
  let seen: { headers: IncomingHttpHeaders; body: string } | undefined;
  let posts = 0;
  let poster: ViewPoster;
  const view = referenceView([{ symbol: 'BTCUSDT', price: 1, volume: 1, source: 's', ts: Date.UTC(2026, 0, 1), event_id: 'e' }], 1);

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        seen = { headers: req.headers, body };
        posts += 1;
        const views = JSON.parse(body) as { symbol: string; view: { tickCount: number } }[];
        // As the api: one result per view; BADUSDT stands for a view the api refuses.
        const code = views.some((v) => v.symbol === 'BADUSDT') ? 422 : status;
        res
          .writeHead(code, { 'content-type': 'application/json' })
          .end(
            JSON.stringify(
              code === 200 ? views.map((v) => ({ symbol: v.symbol, tickCount: v.view.tickCount, stored: true })) : { statusCode: code },
            ),
          );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const env = validateEnv(ConsumersEnv, {
      INTERNAL_TOKEN: 'internal-token-for-the-test',
      ORCHESTRATOR_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    });
    poster = new ViewPoster(env);
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const viewOf = (symbol: string, count: number) =>
    referenceView(
      Array.from({ length: count }, (_, i) => ({
        symbol,
        price: 1 + i,
        volume: 1,
        source: 's',
        ts: Date.UTC(2026, 0, 1) + i,
        event_id: `${symbol}-${i}`,
      })),
      1,
    );

  it('posts the view with the internal token and resolves on 200', async () => {
    status = 200;
    await expect(poster.post(view, 123)).resolves.toEqual({ stored: true });
    expect(seen?.headers['x-internal-token']).toBe('internal-token-for-the-test');
    expect(JSON.parse(seen?.body ?? '[]')).toEqual([expect.objectContaining({ symbol: 'BTCUSDT', view, receivedAt: 123 })]);
  });

  it('posts the views of concurrent jobs in one request, the newest of each symbol only', async () => {
    status = 200;
    posts = 0;
    const answers = await Promise.all([
      poster.post(viewOf('BTCUSDT', 2)),
      poster.post(viewOf('ETHUSDT', 1)),
      poster.post(viewOf('BTCUSDT', 3)),
    ]);
    expect(posts).toBe(1);
    expect(
      JSON.parse(seen?.body ?? '[]').map((u: { symbol: string; view: { tickCount: number } }) => [u.symbol, u.view.tickCount]),
    ).toEqual([
      ['BTCUSDT', 3],
      ['ETHUSDT', 1],
    ]);
    // The superseded view was not sent: answered as the api answers an older version.
    expect(answers).toEqual([{ stored: false }, { stored: true }, { stored: true }]);
  });

  it('retries a refused request view by view, so a bad view fails only its own job', async () => {
    status = 200;
    const [good, bad] = await Promise.allSettled([poster.post(viewOf('ETHUSDT', 2)), poster.post(viewOf('BADUSDT', 1))]);
    expect(good).toEqual({ status: 'fulfilled', value: { stored: true } });
    expect(bad).toMatchObject({ status: 'rejected', reason: expect.any(UnrecoverableError) });
  });

  it.each([500, 503, 429, 408])('throws a retryable error on %i', async (code) => {
    status = code;
    const error = await poster.post(view).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
  });

  it.each([400, 401, 404])('throws UnrecoverableError on %i', async (code) => {
    status = code;
    await expect(poster.post(view)).rejects.toBeInstanceOf(UnrecoverableError);
  });

  const posterFor = (url: string) =>
    new ViewPoster(validateEnv(ConsumersEnv, { INTERNAL_TOKEN: 'internal-token-for-the-test', ORCHESTRATOR_URL: url }));

  it('throws a retryable error when nothing answers', async () => {
    const error = await posterFor('http://127.0.0.1:1')
      .post(view)
      .catch((e: Error) => e);
    // Node's errors come from its realm, not Jest's, so they are checked by their fields.
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(error).not.toBeInstanceOf(UnrecoverableError);
  });

  describe('an api that misbehaves', () => {
    const servers: Server[] = [];
    const serve = async (handler: Parameters<typeof createServer>[1]) => {
      const misbehaving = createServer(handler);
      servers.push(misbehaving);
      await new Promise<void>((resolve) => misbehaving.listen(0, '127.0.0.1', resolve));
      return { server: misbehaving, poster: posterFor(`http://127.0.0.1:${(misbehaving.address() as AddressInfo).port}`) };
    };

    afterAll(async () => {
      for (const each of servers) {
        each.closeAllConnections();
        await new Promise((resolve) => each.close(resolve));
      }
    });

    it('posts on one kept-alive connection, not a connection per post', async () => {
      let connections = 0;
      const { server: answering, poster: keptAlive } = await serve((req, res) => {
        req.resume();
        req.on('end', () =>
          res.writeHead(200, { 'content-type': 'application/json' }).end('[{"symbol":"BTCUSDT","tickCount":1,"stored":true}]'),
        );
      });
      answering.on('connection', () => (connections += 1));
      for (let i = 0; i < 3; i++) await expect(keptAlive.post(view)).resolves.toEqual({ stored: true });
      expect(connections).toBe(1);
    });

    it('refuses an answer over 1 MiB, however well formed (retryable)', async () => {
      const answer = `[{"symbol":"BTCUSDT","tickCount":1,"stored":true}${' '.repeat(2 << 20)}]`;
      const { poster: oversized } = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(answer));
      const error = await oversized.post(view).catch((e: Error) => e);
      expect(error).toMatchObject({ message: expect.stringContaining('answer over 1048576 bytes') });
      expect(error).not.toBeInstanceOf(UnrecoverableError);
    });

    it('gives up on an api that does not answer within 5 s (retryable)', async () => {
      const { poster: silent } = await serve(() => undefined);
      const error = await silent.post(view).catch((e: Error) => e);
      expect(error).toMatchObject({ message: expect.stringContaining('no answer within 5000 ms') });
      expect(error).not.toBeInstanceOf(UnrecoverableError);
    }, 15_000);
  });
});
