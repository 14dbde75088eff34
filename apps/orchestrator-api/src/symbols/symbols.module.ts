import { Module } from '@nestjs/common';
import { OrchestratorApiEnv } from '@md/config';
import { API_KEY, ApiKeyGuard } from '@md/platform';
import { SymbolsController } from './symbols.controller';
import { SymbolsService } from './symbols.service';

/** The read API: GET /symbols, GET /symbols/:id (x-api-key when API_KEY is set). */
@Module({
  controllers: [SymbolsController],
  providers: [
    SymbolsService,
    ApiKeyGuard,
    { provide: API_KEY, inject: [OrchestratorApiEnv], useFactory: (env: OrchestratorApiEnv) => env.API_KEY },
  ],
})
export class SymbolsModule {}
