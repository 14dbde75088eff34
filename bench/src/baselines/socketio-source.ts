/**
 * The other node of the `socketio` baseline's cluster: subscribes to the realtime channel the
 * api publishes on (the same messages the gateway fans out) and emits each to every client of
 * the cluster with io.emit(type, message): the Redis adapter carries it to socketio-server.ts.
 * Env: PORT (health only), REDIS_URL, PUBSUB_CHANNEL, SIO_KEY.
 */
import { createServer } from 'node:http';
import type { RealtimeMessage } from '@md/contracts';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { scriptEnv } from '../lib/env';

async function main(): Promise<void> {
  const env = scriptEnv();
  const pub = new Redis(env.redisUrl());
  const sub = pub.duplicate();
  const channel = pub.duplicate();
  const io = new Server({ adapter: createAdapter(pub, sub, { key: env.sioKey() }) });
  channel.on('message', (_channel: string, text: string) => {
    const message = JSON.parse(text) as RealtimeMessage;
    io.emit(message.type, message);
  });
  await channel.subscribe(env.channel());
  createServer((req, res) => res.writeHead(req.url === '/health/readiness' ? 200 : 404).end()).listen(env.port(), '127.0.0.1');
  process.on('SIGTERM', () => process.exit(0));
}

void main();
