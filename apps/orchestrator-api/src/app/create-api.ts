import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { OrchestratorApiEnv } from '@md/config';
import { AGG_UPDATES_MAX_BYTES, TickRules } from '@md/contracts';
import { createService } from '@md/platform';
import { AppModule } from './app.module';
import { installInternalListener } from './internal-listener';

/** Builds the api (not yet listening): used by main.ts and by the integration tests. */
export async function createApi(env: OrchestratorApiEnv): Promise<NestFastifyApplication> {
  const app = await createService(AppModule.forRoot(env), {
    bodyLimit: TickRules.maxBodyBytes,
    routeBodyLimits: { '/ingest/ticks': 1024 * 1024, '/internal/agg-update': AGG_UPDATES_MAX_BYTES },
    trustProxy: env.TRUST_PROXY,
  });
  // /internal/* on INTERNAL_PORT only (listening from app.listen on, closed with the app).
  installInternalListener(app, env.INTERNAL_PORT, env.HOST);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Market data orchestrator API')
      .setDescription(
        'Ingest of market ticks (Basic Auth) and the read API of the latest per-symbol views (x-api-key). ' +
          'An accepted tick is stored in Redis: queued for the consumers (BullMQ) and published on the realtime ' +
          'channel; the api never touches Postgres on this path.',
      )
      .setVersion('1.0')
      .addBasicAuth({ type: 'http', scheme: 'basic', description: 'INGEST_USERNAME / INGEST_PASSWORD' }, 'ingest')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key', description: 'API_KEY (required when set)' }, 'apiKey')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}
