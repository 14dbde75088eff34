/**
 * realtime-gateway: subscribes to the realtime channel and fans it out to browsers over
 * Server-Sent Events (/stream) and WebSocket (/ws), with snapshot on connect, gap-free resume
 * (Last-Event-ID against the history stream) and per-client conflation. Stateless: run as
 * many replicas as the connections need.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { GatewayEnv, loadEnvOrExit } from '@md/config';
import { SERVICE } from './app/app.module';
import { createGateway } from './app/create-gateway';

async function main(): Promise<void> {
  const env = loadEnvOrExit(GatewayEnv, SERVICE);
  const app = await createGateway(env);
  // A reconnect storm of thousands of browsers overflows Node's default backlog (511).
  await app.listen({ port: env.PORT, host: env.HOST, backlog: env.LISTEN_BACKLOG });
  const url = await app.getUrl();
  new Logger(SERVICE).log(`listening on ${url}: SSE at /stream, WebSocket at /ws`);
}

void main();
