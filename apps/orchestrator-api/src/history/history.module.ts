import { Module } from '@nestjs/common';
import { readApiAuthProviders } from '../common/read-api-auth';
import { DatabaseModule } from '../database/database.module';
import { HistoryController } from './history.controller';
import { historyMetricProviders } from './history.metrics';
import { HistoryService } from './history.service';

@Module({
  imports: [DatabaseModule],
  controllers: [HistoryController],
  providers: [HistoryService, ...historyMetricProviders, ...readApiAuthProviders],
})
export class HistoryModule {}
