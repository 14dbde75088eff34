import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import type { GatewayEnv } from '@md/config';
import { createService } from '@md/platform';
import { CorsPolicy } from '../stream/cors';
import { AppModule } from './app.module';

/** Builds the gateway (not yet listening): used by main.ts and by the integration tests. */
export async function createGateway(env: GatewayEnv): Promise<NestFastifyApplication> {
  const app = await createService(AppModule.forRoot(env), { bodyLimit: 16 * 1024, trustProxy: env.TRUST_PROXY });
  app.useWebSocketAdapter(new WsAdapter(app));

  const cors = app.get(CorsPolicy);
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  fastify.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (request.method === 'OPTIONS') {
      await reply
        .status(cors.allowed(origin) ? 204 : 403)
        .headers(cors.preflightHeaders(origin))
        .send();
      return reply;
    }
    reply.headers(cors.headers(origin));
  });

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Market data realtime gateway')
      .setDescription(
        'Fan-out of the realtime channel to browsers: Server-Sent Events on /stream, WebSocket on /ws (same messages, JSON frames). ' +
          'Every message carries a seq (sent as the SSE id); a reconnect with Last-Event-ID resumes without loss.',
      )
      .setVersion('1.0')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key', description: 'API_KEY (required when set)' }, 'apiKey')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}
