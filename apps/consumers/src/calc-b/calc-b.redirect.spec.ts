import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConsumersEnv, validateEnv } from '@md/config';
import { referenceView } from '@md/market-calc';
import { UnrecoverableError } from 'bullmq';
import { ViewPoster } from './calc-b.service';

/**
 * calc-b's post carries the internal token: a redirect (a misconfigured ORCHESTRATOR_URL, a
 * hostile proxy) must fail the post, not send the token on to wherever it points.
 */
describe('ViewPoster and redirects', () => {
  const servers: Server[] = [];
  const listen = async (server: Server) => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('does not follow a redirect, so the token never reaches its target', async () => {
    const reached: IncomingHttpHeaders[] = [];
    const elsewhere = await listen(createServer((req, res) => (reached.push(req.headers), res.writeHead(200).end('{"stored":true}'))));
    const redirecting = await listen(
      createServer((_req, res) => res.writeHead(307, { location: `${elsewhere}/internal/agg-update` }).end()),
    );
    const env = validateEnv(ConsumersEnv, { INTERNAL_TOKEN: 'internal-token-for-the-test', ORCHESTRATOR_URL: redirecting });
    const view = referenceView([{ symbol: 'BTCUSDT', price: 1, volume: 1, source: 's', ts: Date.UTC(2026, 0, 1), event_id: 'e' }], 1);

    const error = await new ViewPoster(env).post(view, 1).catch((e: Error) => e);
    // A retryable error naming the redirect (the configuration may be fixed while BullMQ retries).
    expect(error).toMatchObject({ message: expect.stringMatching(/answered 307: .*a redirect, not followed: check ORCHESTRATOR_URL/) });
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect(reached).toEqual([]);
  });
});
