import { Processor } from '@nestjs/bullmq';
import { type DynamicModule, Module } from '@nestjs/common';
import type { ConsumersEnv } from '@md/config';
import { workerOptions } from '../queues/queues';
import { CalcAProcessor } from './calc-a.processor';
import { CalcAService } from './calc-a.service';

@Module({})
export class CalcAModule {
  /** The processor consumes QUEUE_NAME at CALC_A_CONCURRENCY, both from the validated env. */
  static register(env: ConsumersEnv): DynamicModule {
    Processor({ name: env.QUEUE_NAME }, workerOptions(env, env.CALC_A_CONCURRENCY))(CalcAProcessor);
    return {
      module: CalcAModule,
      providers: [CalcAService, CalcAProcessor],
    };
  }
}
