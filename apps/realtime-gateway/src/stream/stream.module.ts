import { Module } from '@nestjs/common';
import { AddressStreams } from './address-streams';
import { CorsPolicy } from './cors';
import { gatewayMetricProviders } from './gateway.metrics';
import { StreamHistory } from './history';
import { StreamHub } from './hub';
import { StreamAuth } from './stream-auth';
import { StreamController } from './stream.controller';
import { StreamAccessGuard, StreamKeyGuard } from './stream-key.guard';
import { StreamWsGateway } from './stream.ws-gateway';

@Module({
  controllers: [StreamController],
  providers: [
    ...gatewayMetricProviders,
    AddressStreams,
    StreamHistory,
    StreamHub,
    StreamAuth,
    StreamKeyGuard,
    StreamAccessGuard,
    CorsPolicy,
    StreamWsGateway,
  ],
  exports: [StreamHub, CorsPolicy],
})
export class StreamModule {}
