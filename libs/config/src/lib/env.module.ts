import { type DynamicModule, Global, Module } from '@nestjs/common';
import { BaseEnv, ServiceEnv } from './schemas/service.env';

/**
 * Makes a validated env instance injectable under its own class (typed access for the app)
 * and under BaseEnv / ServiceEnv (what the shared libs need). Validation happens before this, in main.ts
 * or a test, through validateEnv, so a bad variable stops the process before Nest starts.
 */
@Global()
@Module({})
export class EnvModule {
  static forRoot<T extends BaseEnv>(env: T): DynamicModule {
    const schema = env.constructor as new () => T;
    const tokens = [schema, BaseEnv, ...(env instanceof ServiceEnv ? [ServiceEnv] : [])];
    return {
      module: EnvModule,
      providers: [...new Set(tokens)].map((token) => ({ provide: token, useValue: env })),
      exports: [...new Set(tokens)],
    };
  }
}
