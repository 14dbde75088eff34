import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { flushMetricProviders } from './flush.metrics';
import { FlushService } from './flush.service';

/** Redis buffer → Postgres, in batches, one transaction each. Never on the ingest path. */
@Module({
  imports: [DatabaseModule],
  providers: [FlushService, ...flushMetricProviders],
  exports: [FlushService, DatabaseModule],
})
export class FlushModule {}
