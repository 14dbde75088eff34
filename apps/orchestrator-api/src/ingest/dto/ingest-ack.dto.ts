import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { BatchAck, BatchItemResult, FieldError, IngestAck, IngestStatus } from '@md/contracts';
import { FieldErrorDto } from '../../common/error-body.dto';

/** Response shapes of ingest, for Swagger; the contracts lib holds the types (the error body: common/). */
export class IngestAckDto implements IngestAck {
  @ApiProperty({ example: '0193c9a2-7b1e-7cc3-9f1e-2b7d1c9e4a10' })
  event_id: string;

  @ApiProperty({
    enum: ['accepted', 'duplicate'],
    description: 'accepted: stored in Redis (queued and published); duplicate: this event_id was accepted before',
  })
  status: IngestStatus;
}

export class BatchItemResultDto {
  @ApiProperty({ description: 'Position of the item in the request array' })
  index: number;

  @ApiPropertyOptional()
  event_id?: string;

  @ApiProperty({
    enum: ['accepted', 'duplicate', 'invalid', 'unavailable'],
    description: 'invalid: not stored, see errors; unavailable: not stored, retry it',
  })
  status: BatchItemResult['status'];

  @ApiPropertyOptional({ type: [FieldErrorDto] })
  errors?: FieldError[];

  @ApiPropertyOptional()
  reason?: string;
}

export class BatchAckDto implements BatchAck {
  @ApiProperty({ description: 'true when any item was not stored (invalid or unavailable)' })
  errors: boolean;

  @ApiProperty() accepted: number;
  @ApiProperty() duplicate: number;
  @ApiProperty() invalid: number;
  @ApiProperty() unavailable: number;

  @ApiProperty({ type: [BatchItemResultDto] })
  items: BatchItemResult[];
}
