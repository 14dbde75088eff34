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
import { createDataSource, migrate } from './database/database.service';
import { SERVICE } from './app/app.module';

async function main(): Promise<void> {
  const env = loadEnvOrExit(OrchestratorApiEnv, SERVICE);
  if (process.argv[2] === 'migrate') {
    // `npm run migrate`: apply the due migrations and exit (the api also does it at start-up).
    const dataSource = createDataSource(env);
    await dataSource.initialize();
    const ran = await migrate(dataSource);
    await dataSource.destroy();
    process.stdout.write(`${JSON.stringify({ level: 'info', service: SERVICE, msg: 'migrations applied', migrations: ran })}\n`);
    return;
  }
  const app = await createApi(env);
  const url = await listen(app, env);
  new Logger(SERVICE).log(`listening on ${url} (Swagger UI at ${url}/docs)`);
}

void main();
