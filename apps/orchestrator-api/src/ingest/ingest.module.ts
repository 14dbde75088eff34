import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { QueueModule } from '../queue/queue.module';
import { BasicAuthGuard } from './basic-auth.guard';
import { IngestAdmission } from './ingest-admission';
import { IngestController } from './ingest.controller';
import { IngestMetrics, ingestOutcomesProvider } from './ingest.metrics';
import { IngestService } from './ingest.service';

/** POST /ingest/tick(s): the hot path. Redis only; it never touches Postgres. */
@Module({
  imports: [QueueModule],
  controllers: [IngestController],
  providers: [IngestService, IngestMetrics, ingestOutcomesProvider, BasicAuthGuard, IngestAdmission],
})
export class IngestModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(IngestAdmission).forRoutes(IngestController);
  }
}
