import { Processor } from '@nestjs/bullmq';
import { type DynamicModule, Module } from '@nestjs/common';
import type { ConsumersEnv } from '@md/config';
import { MIXED_CHUNK_WORKER } from '@md/pipeline';
import { workerOptions } from '../queues/queues';
import { CalcAProcessor } from './calc-a.processor';
import { CalcAService } from './calc-a.service';

@Module({})
export class CalcAModule {
  /**
   * The processor consumes QUEUE_NAME at CALC_A_CONCURRENCY, both from the validated env. Its
   * worker is named MIXED_CHUNK_WORKER: it tells the api this calc-a reads jobs of several symbols.
   */
  static register(env: ConsumersEnv): DynamicModule {
    Processor({ name: env.QUEUE_NAME }, { ...workerOptions(env, env.CALC_A_CONCURRENCY), name: MIXED_CHUNK_WORKER })(CalcAProcessor);
    return {
      module: CalcAModule,
      providers: [CalcAService, CalcAProcessor],
    };
  }
}
