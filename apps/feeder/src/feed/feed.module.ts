import { Module } from '@nestjs/common';
import { FeedService } from './feed.service';
import { feedMetricProviders } from './feed.metrics';
import { TickSender } from './sender';

@Module({
  providers: [FeedService, TickSender, ...feedMetricProviders],
  exports: [FeedService, TickSender],
})
export class FeedModule {}
