import { Redis } from 'ioredis';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { GatewayEnv, validateEnv } from '@md/config';
import { symbolUpdatedMessage, tickReceivedMessage, type SymbolView } from '@md/contracts';
import { defineScripts, RedisKeys, type MdRedis } from '@md/redis';
import { dropKeys, isolated, REDIS_URL, waitUntil } from '@md/testing';
import { createGateway } from '../../src/app/create-gateway';
import { StreamHub } from '../../src/stream/hub';

export * from '@md/testing';

export const API_KEY = 'integration-api-key-0123456789';

export interface RunningGateway {
  app: NestFastifyApplication;
  env: GatewayEnv;
  url: string;
  hub: StreamHub;
  close(): Promise<void>;
}

/** The real gateway in this process on a free port, subscribed and ready. */
export async function startGateway(overrides: Record<string, string> = {}): Promise<RunningGateway> {
  // No rate limit nor per-address cap unless a test sets one: the tests open thousands of streams from one address.
  const env = validateEnv(GatewayEnv, {
    NODE_ENV: 'test',
    REDIS_URL,
    LOG_LEVEL: 'silent',
    STREAM_RATE_LIMIT_PER_MIN: '0',
    MAX_STREAMS_PER_ADDRESS: '0',
    ...isolated(),
    ...overrides,
  });
  const app = await createGateway(env);
  await app.listen(0, '127.0.0.1');
  const hub = app.get(StreamHub);
  await waitUntil(() => hub.live, 'the gateway to subscribe');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, env, url, hub, close: () => app.close() };
}

export function view(symbol: string, tickCount: number, price = 100 + tickCount): SymbolView {
  const ts = 1_700_000_000_000 + tickCount;
  return {
    symbol,
    price,
    ts,
    source: 'test',
    eventId: `${symbol}-${tickCount}`,
    tickCount,
    last10: [price],
    sma10: price,
    volume1m: 1,
    vwap1m: price,
    high1m: price,
    low1m: price,
    open1m: price,
    change1m: 0,
    changePct1m: 0,
    updatedAt: Date.now(),
  };
}

/**
 * Publishes as the api does, through the same scripts: views stored and published together
 * (symbol.updated), ticks published (tick.received); every message gets its seq in history.
 */
export class Publisher {
  readonly redis: MdRedis;
  readonly keys: RedisKeys;
  private readonly counts = new Map<string, number>();

  constructor(
    readonly env: GatewayEnv,
    redisUrl = env.REDIS_URL,
  ) {
    this.redis = defineScripts(new Redis(redisUrl, { maxRetriesPerRequest: 1 }));
    this.keys = new RedisKeys(env);
  }

  /** The next view of a symbol (tickCount + 1), stored and published as the api does; resolves to it. */
  async view(symbol: string, padding = 0): Promise<SymbolView> {
    const tickCount = (this.counts.get(symbol) ?? 0) + 1;
    this.counts.set(symbol, tickCount);
    const next = { ...view(symbol, tickCount), ...(padding ? { source: 'x'.repeat(padding) } : {}) };
    // As calc-a would have counted it: the store refuses a view ahead of its symbol's count.
    await this.redis.hset(this.keys.calc(symbol).state, 'count', tickCount);
    const [stored] = await this.redis.mdStoreViews(
      4,
      this.keys.views(),
      this.keys.viewVersions(),
      this.keys.history(),
      this.keys.calc(symbol).state,
      this.keys.channel,
      this.env.STREAM_HISTORY,
      symbol,
      tickCount,
      JSON.stringify(next),
      JSON.stringify(symbolUpdatedMessage(next, Date.now())),
    );
    if (stored !== 1) throw new Error(`view ${symbol} #${tickCount} was not stored`);
    return next;
  }

  async tick(symbol: string, n: number, padding = 0): Promise<void> {
    const message = tickReceivedMessage({
      symbol,
      price: n,
      volume: 1,
      source: padding ? 'x'.repeat(padding) : 'test',
      ts: 1_700_000_000_000 + n,
      event_id: `${symbol}-t${n}`,
      receivedAt: Date.now(),
    });
    await this.redis.mdPublish(this.keys.history(), this.keys.channel, this.env.STREAM_HISTORY, JSON.stringify(message));
  }

  async close(): Promise<void> {
    await this.redis.quit();
    await dropKeys(this.env.REDIS_URL, this.env.REDIS_PREFIX);
  }
}

/** The value of a metric line of /metrics (summed over the lines matching every label given). */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith('{') || rest.startsWith(' '))) continue;
    if (Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) sum += Number(line.split(' ').pop());
  }
  return sum;
}
