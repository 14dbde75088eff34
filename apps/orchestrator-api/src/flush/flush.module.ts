import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { BatchWriter } from './batch-writer';
import { FlushBuffer } from './flush-buffer';
import { FlushRedisCloser, flushRedisProvider } from './flush-redis';
import { flushFaultsProvider } from './flush-faults';
import { FlushMetrics, flushMetricProviders } from './flush.metrics';
import { FlushService } from './flush.service';
import { TickCopy } from './tick-copy';

/**
 * Redis buffer → Postgres, in batches, one transaction each. Never on the ingest path, nor on
 * its Redis connection (flush-redis.ts).
 * FlushBuffer reads and acknowledges (the consumer group), BatchWriter writes (the
 * transaction), FlushService decides when (the loop, and the final flush at shutdown).
 */
@Module({
  imports: [DatabaseModule],
  providers: [
    FlushService,
    FlushBuffer,
    BatchWriter,
    TickCopy,
    flushRedisProvider,
    FlushRedisCloser,
    FlushMetrics,
    flushFaultsProvider,
    ...flushMetricProviders,
  ],
  exports: [FlushService, DatabaseModule],
})
export class FlushModule {}
