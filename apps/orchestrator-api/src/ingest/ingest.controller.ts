import { Body, Controller, HttpCode, HttpStatus, Post, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BatchAck, IngestAck, ReceivedTick } from '@md/contracts';
import { OrchestratorApiEnv } from '@md/config';
import { TickRules } from '@md/contracts';
import { FieldsException, notAnObject, UnavailableException } from '@md/platform';
import { ErrorBodyDto } from '../common/error-body.dto';
import { BasicAuthGuard } from './basic-auth.guard';
import { BatchAckDto, IngestAckDto } from './dto/ingest-ack.dto';
import { TickDto } from './dto/tick.dto';
import { IngestService } from './ingest.service';
import { validateTickItem, type TickLimits } from './validate-tick-item';

function traceIdOf(request: FastifyRequest): string | undefined {
  return (request.raw as { id?: string }).id;
}

@ApiTags('ingest')
@ApiBasicAuth('ingest')
@ApiUnauthorizedResponse({ description: 'Missing or wrong credentials (same body whatever was wrong)', type: ErrorBodyDto })
@ApiResponse({ status: 413, description: 'Body too large', type: ErrorBodyDto })
@ApiResponse({ status: 415, description: 'Content-Type is not application/json', type: ErrorBodyDto })
@Controller('ingest')
@UseGuards(BasicAuthGuard)
export class IngestController {
  private readonly limits: TickLimits;

  constructor(
    private readonly ingest: IngestService,
    env: OrchestratorApiEnv,
  ) {
    this.limits = { maxFutureSkewMs: env.MAX_FUTURE_SKEW_MS, retentionDays: env.RETENTION_DAYS };
  }

  @Post('tick')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Ingest one tick',
    description:
      'Validates, dedupes on event_id, enqueues to the ticks queue and publishes `tick.received`, all in Redis ' +
      '(never Postgres). 200 only once Redis has confirmed; a repeated event_id answers `duplicate`. Body ≤ 16 KiB.',
  })
  @ApiOkResponse({ type: IngestAckDto })
  @ApiResponse({ status: 400, description: 'Invalid tick: every bad field named', type: ErrorBodyDto })
  @ApiResponse({ status: 422, description: 'A new symbol past MAX_SYMBOLS: refused, naming `symbol`; nothing stored', type: ErrorBodyDto })
  @ApiServiceUnavailableResponse({
    description:
      'Not stored (Redis unavailable, the flush buffer at BUFFER_MAX_TICKS, or this instance shutting down); retry after Retry-After seconds',
    type: ErrorBodyDto,
  })
  @ApiBody({ type: TickDto })
  async tick(@Body() body: unknown, @Req() request: FastifyRequest): Promise<IngestAck> {
    // Validated by hand with the DTO and the global pipe's options (validateTickItem), so that
    // single ticks and batch items follow one code path and every refusal is counted.
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      this.ingest.countInvalid(1);
      throw notAnObject();
    }
    const result = validateTickItem(body, this.limits);
    if ('errors' in result) {
      this.ingest.countInvalid(1);
      throw new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', result.errors);
    }
    const tick = result.tick;
    const received: ReceivedTick = { ...tick, receivedAt: Date.now(), traceId: traceIdOf(request) };
    const [outcome] = await this.ingest.ingest([received]);
    if (outcome.status === 'unavailable') throw new UnavailableException(outcome.reason, outcome.retryAfterS);
    if (outcome.status === 'refused') {
      throw new FieldsException(HttpStatus.UNPROCESSABLE_ENTITY, 'refused', [{ field: outcome.field, reason: outcome.reason }]);
    }
    return { event_id: tick.event_id, status: outcome.status };
  }

  @Post('ticks')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: `Ingest up to ${TickRules.maxBatch} ticks in one request`,
    description:
      'Each item is validated on its own: bad items are reported in `items` and do not stop the good ones. ' +
      'Two Redis round trips for the whole batch. 200 when every valid item is stored (accepted or duplicate); ' +
      '503 with the same body when any valid item could not be stored (retry those; retrying all is safe); ' +
      '400 when the body is not an array of 1–1000 items or no item is valid. Body ≤ 1 MiB.',
  })
  @ApiBody({ type: [TickDto] })
  @ApiOkResponse({ type: BatchAckDto })
  @ApiResponse({ status: 400, description: 'Not an array of 1–1000 items, or no valid item', type: ErrorBodyDto })
  @ApiServiceUnavailableResponse({ description: 'Some items not stored; see items', type: BatchAckDto })
  async ticks(@Body() body: unknown, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<BatchAck> {
    const { ack, retryAfterS } = await this.ingest.ingestBatch(body, this.limits, { receivedAt: Date.now(), traceId: traceIdOf(request) });
    if (retryAfterS !== undefined) void reply.status(HttpStatus.SERVICE_UNAVAILABLE).header('Retry-After', String(retryAfterS));
    return ack;
  }
}
