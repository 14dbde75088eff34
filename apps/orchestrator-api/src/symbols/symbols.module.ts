import { readApiAuthProviders } from './read-api-auth';
import { Module } from '@nestjs/common';
import { SymbolsController } from './symbols.controller';
import { SymbolsService } from './symbols.service';

/** The read API: GET /symbols, GET /symbols/:id (x-api-key when API_KEY is set). */
@Module({
  controllers: [SymbolsController],
  providers: [
    SymbolsService,
    ...readApiAuthProviders,
  ],
})
export class SymbolsModule {}
