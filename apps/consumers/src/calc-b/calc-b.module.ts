import { Processor } from '@nestjs/bullmq';
import { type DynamicModule, Module } from '@nestjs/common';
import type { ConsumersEnv } from '@md/config';
import { workerOptions } from '../queues/queues';
import { CalcBProcessor } from './calc-b.processor';
import { SummaryReader } from '../app/summary';
import { ViewPoster } from './calc-b.service';

@Module({})
export class CalcBModule {
  /** The processor consumes VIEW_QUEUE_NAME at CALC_B_CONCURRENCY, from the validated env. */
  static register(env: ConsumersEnv): DynamicModule {
    Processor({ name: env.VIEW_QUEUE_NAME }, workerOptions(env, env.CALC_B_CONCURRENCY))(CalcBProcessor);
    return {
      module: CalcBModule,
      providers: [SummaryReader, ViewPoster, CalcBProcessor],
    };
  }
}
