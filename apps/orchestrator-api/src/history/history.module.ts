import { readApiAuthProviders } from '../symbols/read-api-auth';
import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { HistoryController } from './history.controller';
import { HistoryService } from './history.service';

@Module({
  imports: [DatabaseModule],
  controllers: [HistoryController],
  providers: [
    HistoryService,
    ...readApiAuthProviders,
  ],
})
export class HistoryModule {}
