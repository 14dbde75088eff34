/**
 * feeder: simulated market ticks, posted to the api at TPS with Basic Auth. HTTP only for
 * health and metrics. With COUNT or DURATION_S it exits 0 once every tick has settled.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { FeederEnv, loadEnvOrExit } from '@md/config';
import { createService, listen } from '@md/platform';
import { AppModule, SERVICE } from './app/app.module';
import { FeedService } from './feed/feed.service';

async function main(): Promise<void> {
  const env = loadEnvOrExit(FeederEnv, SERVICE);
  const app = await createService(AppModule.forRoot(env));
  const url = await listen(app, env);
  new Logger(SERVICE).log(`health and metrics on ${url}`);
  const feed = app.get(FeedService);
  feed.start();
  await feed.done;
  if (env.COUNT !== undefined || env.DURATION_S !== undefined) {
    await app.close();
    process.exit(0);
  }
}

void main();
