import { Module } from '@nestjs/common';
import { readApiAuthProviders } from '../common/read-api-auth';
import { SymbolsController } from './symbols.controller';
import { SymbolsService } from './symbols.service';

/** The read API: GET /symbols, GET /symbols/:id (x-api-key when API_KEY is set). */
@Module({
  controllers: [SymbolsController],
  providers: [SymbolsService, ...readApiAuthProviders],
})
export class SymbolsModule {}
