/**
 * orchestrator-api: the ingest path (Redis only: dedupe, enqueue, fast-path publish), the
 * consumers' view updates (/internal/agg-update) and the read API of those views.
 * The flush to Postgres arrives with its issue.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadEnvOrExit, OrchestratorApiEnv } from '@md/config';
import { listen } from '@md/platform';
import { createApi } from './app/create-api';
import { SERVICE } from './app/app.module';

async function main(): Promise<void> {
  const env = loadEnvOrExit(OrchestratorApiEnv, SERVICE);
  const app = await createApi(env);
  const url = await listen(app, env);
  new Logger(SERVICE).log(`listening on ${url} (Swagger UI at ${url}/docs)`);
}

void main();
