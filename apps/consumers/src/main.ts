/**
 * consumers: BullMQ processors calc-a (per-symbol windows, in Redis) and calc-b (the view W,
 * posted to the api). HTTP only for health and metrics.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConsumersEnv, loadEnvOrExit } from '@md/config';
import { listen } from '@md/platform';
import { SERVICE } from './app/app.module';
import { createConsumers } from './app/create-consumers';

async function main(): Promise<void> {
  const env = loadEnvOrExit(ConsumersEnv, SERVICE);
  const app = await createConsumers(env);
  const url = await listen(app, env);
  new Logger(SERVICE).log(`roles ${env.CONSUMER_ROLES.join(', ')}; health and metrics on ${url}`);
}

void main();
