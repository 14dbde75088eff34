import { Module } from '@nestjs/common';
import { readApiAuthProviders } from '../common/read-api-auth';
import { FlushModule } from '../flush/flush.module';
import { QueueModule } from '../queue/queue.module';
import { PipelineController } from './pipeline.controller';
import { PipelineService } from './pipeline.service';

/** GET /pipeline: queue depths and flush lag, for the dashboard and operators (x-api-key when API_KEY is set). */
@Module({
  imports: [QueueModule, FlushModule],
  controllers: [PipelineController],
  providers: [PipelineService, ...readApiAuthProviders],
})
export class PipelineModule {}
