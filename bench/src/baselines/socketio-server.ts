/**
 * Baseline `socketio`: a Socket.IO 4 server with its Redis adapter, as a Socket.IO cluster
 * node fans out. It has no source of its own: messages reach it through the adapter's Redis
 * channel from another node (socketio-source.ts), as the gateway's reach it through the
 * realtime channel, and it broadcasts each to all its clients (WebSocket transport only; the
 * packet is encoded once per broadcast). Serves GET /health/readiness for the bench.
 * Env: PORT, REDIS_URL, SIO_KEY (the adapter's channel prefix).
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { scriptEnv } from '../lib/env';

const env = scriptEnv();
const pub = new Redis(env.redisUrl());
const sub = pub.duplicate();
// socket.io answers its own path; everything else here (the bench's readiness probe and /metrics) at once.
const http = createServer((req, res) => {
  if (!req.url?.startsWith('/socket.io/')) res.writeHead(req.url === '/health/readiness' ? 200 : 404).end();
});
const io = new Server(http, { transports: ['websocket'], serveClient: false, adapter: createAdapter(pub, sub, { key: env.sioKey() }) });
io.on('connection', () => undefined);
http.listen(env.port(), '127.0.0.1');
process.on('SIGTERM', () => io.close(() => process.exit(0)));
