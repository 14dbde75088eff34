/**
 * The other node of the `socketio` baseline's cluster: subscribes to the realtime channel the
 * api publishes on (the same messages the gateway fans out) and emits each to every client of
 * the cluster with io.emit(type, message): the Redis adapter carries it to socketio-server.mjs.
 * Env: PORT (health only), REDIS_URL, PUBSUB_CHANNEL, SIO_KEY.
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const pub = new Redis(process.env.REDIS_URL);
const sub = pub.duplicate();
const channel = pub.duplicate();
const io = new Server({ adapter: createAdapter(pub, sub, { key: process.env.SIO_KEY }) });
channel.on('message', (_channel, text) => {
  const message = JSON.parse(text);
  io.emit(message.type, message);
});
await channel.subscribe(process.env.PUBSUB_CHANNEL);
createServer((req, res) => res.writeHead(req.url === '/health/readiness' ? 200 : 404).end()).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
