import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ServiceEnv } from './schemas/service.env';

/**
 * Makes a validated env instance injectable under its own class (typed access for the app)
 * and under ServiceEnv (what the shared libs need). Validation happens before this, in main.ts
 * or a test, through validateEnv, so a bad variable stops the process before Nest starts.
 */
@Global()
@Module({})
export class EnvModule {
  static forRoot<T extends ServiceEnv>(env: T): DynamicModule {
    const schema = env.constructor as new () => T;
    return {
      module: EnvModule,
      providers: [
        { provide: schema, useValue: env },
        { provide: ServiceEnv, useValue: env },
      ],
      exports: [schema, ServiceEnv],
    };
  }
}
