import { Redis } from 'ioredis';
import {
  API_KEY,
  freePort,
  metric,
  Publisher,
  SseClient,
  startGateway,
  TcpProxy,
  ThrowawayRedis,
  waitUntil,
  type RunningGateway,
} from '../support/harness';

const key = { 'x-api-key': API_KEY };

/**
 * The gateway's own subscription dropping: Redis pub/sub loses what is published meanwhile,
 * so the gateway must fill the gap from history when it resubscribes. On a redis-server of
 * this test only, since CLIENT KILL TYPE pubsub kills every subscriber of the server.
 */
describe('realtime-gateway: resynchronising after its Redis subscription drops', () => {
  let redis: ThrowawayRedis;
  let admin: Redis;
  let gw: RunningGateway;
  let pub: Publisher;

  beforeAll(async () => {
    redis = await ThrowawayRedis.create();
    await redis.start();
    admin = new Redis(redis.url);
    gw = await startGateway({ API_KEY, REDIS_URL: redis.url, STREAM_HISTORY: '1000' });
    pub = new Publisher(gw.env, redis.url);
  });

  afterAll(async () => {
    await gw.close();
    await pub.close().catch(() => undefined);
    admin.disconnect();
    await redis.kill();
  });

  const killSubscription = async () => {
    const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
    expect(killed).toBeGreaterThanOrEqual(1);
  };

  it('delivers every message published while it was resubscribing, in order, again and again', async () => {
    const client = await SseClient.connect(`${gw.url}/stream?symbols=GAP`, key);
    await client.waitFor((c) => c.events.length >= 1, 'the snapshot');
    const published: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      await killSubscription();
      // Published at once, while the subscription is (very likely) still down.
      for (let i = 0; i < 20; i += 1) published.push((await pub.view('GAP')).tickCount);
      await waitUntil(() => gw.hub.live, 'the gateway to resubscribe');
    }
    await client.waitFor((c) => c.of('symbol.updated').length >= published.length, `all ${published.length} updates`);
    expect(client.of('symbol.updated').map((e) => e.data.view.tickCount)).toEqual(published);
    expect(client.of('reset')).toHaveLength(0);
    expect(await metric(gw.url, 'md_gateway_resyncs_total', { outcome: 'replayed' })).toBeGreaterThanOrEqual(5);
    client.close();
  });

  it('answers readiness 503 while the subscription is down', async () => {
    await redis.kill();
    await waitUntil(async () => (await fetch(`${gw.url}/health/readiness`)).status === 503, 'readiness to fail');
    const body = await (await fetch(`${gw.url}/health/readiness`)).json();
    expect(JSON.stringify(body)).toMatch(/subscription/);
    await redis.start();
    await waitUntil(async () => (await fetch(`${gw.url}/health/readiness`)).status === 200, 'readiness to recover', 30_000);
  });

  it('resets every client when what it missed has left history meanwhile', async () => {
    // This gateway reaches Redis through a proxy, so it can be cut off while others publish.
    const proxy = await TcpProxy.create({ host: '127.0.0.1', port: redis.port }, await freePort());
    await proxy.open();
    const cut = await startGateway({
      API_KEY,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      REDIS_PREFIX: gw.env.REDIS_PREFIX,
      PUBSUB_CHANNEL: gw.env.PUBSUB_CHANNEL,
      STREAM_HISTORY: '1000',
    });
    try {
      const client = await SseClient.connect(`${cut.url}/stream?symbols=LOST`, key);
      await client.waitFor((c) => c.events.length >= 1, 'the snapshot');
      await pub.view('LOST');
      await client.waitFor((c) => c.of('symbol.updated').length === 1, 'a first update');

      await proxy.close();
      await waitUntil(() => !cut.hub.live, 'the gateway to notice');
      let latest;
      for (let i = 0; i < 1_500; i += 1) latest = await pub.view('LOST');
      await proxy.open();

      await client.waitFor((c) => c.of('snapshot').length === 2, 'a reset and a fresh snapshot', 20_000);
      expect(client.events.slice(2).map((e) => e.event)).toEqual(['reset', 'snapshot']);
      expect(client.of('snapshot')[1].data.views).toEqual([latest]);
      await pub.view('LOST');
      await client.waitFor((c) => c.of('symbol.updated').length === 2, 'live updates again');
      client.close();
    } finally {
      await cut.close();
      await proxy.close();
    }
  });
});
