import { Module } from '@nestjs/common';
import { QueueModule } from '../queue/queue.module';
import { BasicAuthGuard } from './basic-auth.guard';
import { IngestController } from './ingest.controller';
import { IngestMetrics, ingestOutcomesProvider } from './ingest.metrics';
import { IngestService } from './ingest.service';

/** POST /ingest/tick(s): the hot path. Redis only; it never touches Postgres. */
@Module({
  imports: [QueueModule],
  controllers: [IngestController],
  providers: [IngestService, IngestMetrics, ingestOutcomesProvider, BasicAuthGuard],
})
export class IngestModule {}
