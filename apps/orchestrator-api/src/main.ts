/**
 * orchestrator-api: the ingest path (Redis only: dedupe, enqueue, fast-path publish), the
 * consumers' view updates (/internal/agg-update) and the read API of those views.
 * FlushModule writes the buffered ticks to Postgres in batches, beside (never in) that path.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadEnvOrExit, OrchestratorApiEnv } from '@md/config';
import { listen } from '@md/platform';
import { createApi } from './app/create-api';
import { migrateCreatingDatabase } from './database/database.service';
import { SERVICE } from './app/app.module';

async function main(): Promise<void> {
  const env = loadEnvOrExit(OrchestratorApiEnv, SERVICE);
  if (process.argv[2] === 'migrate') {
    // `npm run migrate`: create the database if needed, apply the due migrations, exit
    // (the api also migrates at start-up, once its database exists).
    try {
      const ran = await migrateCreatingDatabase(env);
      process.stdout.write(`${JSON.stringify({ level: 'info', service: SERVICE, msg: 'migrations applied', migrations: ran })}\n`);
    } catch (error) {
      process.stderr.write(`${JSON.stringify({ level: 'fatal', service: SERVICE, msg: `migrate failed: ${(error as Error).message}` })}\n`);
      process.exitCode = 1;
    }
    return;
  }
  const app = await createApi(env);
  const url = await listen(app, env);
  new Logger(SERVICE).log(`listening on ${url} (Swagger UI at ${url}/docs)`);
}

void main();
