import { Module } from '@nestjs/common';
import { DatabaseService } from './database.service';
import { StorageMaintenanceService } from './storage-maintenance.service';
import { storageMetricProviders } from './storage.metrics';

@Module({
  providers: [DatabaseService, StorageMaintenanceService, ...storageMetricProviders],
  exports: [DatabaseService, StorageMaintenanceService],
})
export class DatabaseModule {}
