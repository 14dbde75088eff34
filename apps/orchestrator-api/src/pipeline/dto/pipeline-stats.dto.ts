import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import type { FlushStats, PipelineStats, QueueCounts } from '@md/contracts';

export class QueueCountsDto implements QueueCounts {
  @ApiProperty({ description: 'Jobs waiting for a worker (a ticks.received job holds up to 100 ticks of an ingest round)' })
  waiting: number;
  @ApiProperty({ description: 'Jobs a worker holds now' }) active: number;
  @ApiProperty({ description: 'Jobs waiting for a retry backoff to end' }) delayed: number;
  @ApiProperty({ description: 'Jobs that failed every attempt (kept DEDUPE_TTL_S − 300 s for ticks, 7 days for views)' })
  failed: number;

  @ApiProperty({
    description: 'Completed jobs still kept (ticks: the newest 10,000, at most 1 h; views: the newest 1,000, at most 10 min)',
  })
  completed: number;
}

export class FlushStatsDto implements FlushStats {
  @ApiProperty({ description: 'Ticks in the Redis buffer not yet acknowledged as written to Postgres' })
  buffered: number;

  @ApiProperty({
    description:
      "The buffer's entries (XLEN): one per ingest chunk of up to 100 ticks (a chunk is one request's ticks of a job, or several concurrent requests')",
  })
  entries: number;

  @ApiProperty({ description: 'Of the entries, those a flusher has read and not yet committed (pending in the group)' })
  pending: number;

  @ApiProperty({ description: 'Age of the oldest buffered tick in ms, from its stream id; 0 when the buffer is empty' })
  oldestBufferedAgeMs: number;

  @ApiPropertyOptional({
    description: "Epoch ms of this process's last committed flush; absent before the first or when FLUSH_ENABLED=false",
  })
  lastFlushAt?: number;
}

@ApiExtraModels(QueueCountsDto)
export class PipelineStatsDto implements PipelineStats {
  @ApiProperty({
    description: 'Job counts by queue name: QUEUE_NAME (ticks.received) and VIEW_QUEUE_NAME (views.compute)',
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(QueueCountsDto) },
    example: {
      'ticks.received': { waiting: 0, active: 1, delayed: 0, failed: 0, completed: 9876 },
      'views.compute': { waiting: 2, active: 3, delayed: 0, failed: 0, completed: 1000 },
    },
  })
  queues: Record<string, QueueCountsDto>;

  @ApiProperty({ type: FlushStatsDto }) flush: FlushStatsDto;
  @ApiProperty({ description: 'Epoch ms of the snapshot' }) at: number;
}
