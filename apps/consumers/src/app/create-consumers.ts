import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ConsumersEnv } from '@md/config';
import { createService } from '@md/platform';
import { AppModule } from './app.module';

/** The consumers (not yet listening): used by main.ts and by the integration tests. */
export function createConsumers(env: ConsumersEnv): Promise<NestFastifyApplication> {
  return createService(AppModule.forRoot(env));
}
