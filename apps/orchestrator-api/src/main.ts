/**
 * orchestrator-api: the ingest path (Redis only: dedupe, enqueue, fast-path publish).
 * The read API, the consumers' view updates and the flush to Postgres arrive with their issues.
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
