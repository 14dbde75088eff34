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
import type { BatchAck, BatchItemResult, IngestAck, ReceivedTick } from '@md/contracts';
import { OrchestratorApiEnv } from '@md/config';
import { TickRules } from '@md/contracts';
import { FieldsException, notAnObject, UnavailableException } from '@md/platform';
import { BasicAuthGuard } from './basic-auth.guard';
import { BatchAckDto, ErrorBodyDto, IngestAckDto } from './dto/ingest-ack.dto';
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
    description: 'Not stored (Redis unavailable, or the flush buffer is at BUFFER_MAX_TICKS); retry after Retry-After seconds',
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
  async ticks(
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BatchAck> {
    if (!Array.isArray(body) || body.length < 1 || body.length > TickRules.maxBatch) {
      this.ingest.countInvalid(1);
      throw new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', [
        { field: 'body', reason: `body must be a JSON array of 1–${TickRules.maxBatch} ticks` },
      ]);
    }
    const receivedAt = Date.now();
    const traceId = traceIdOf(request);
    const items: BatchItemResult[] = new Array(body.length);
    const valid: { index: number; tick: ReceivedTick }[] = [];
    body.forEach((item, index) => {
      const result = validateTickItem(item, this.limits);
      if ('errors' in result) items[index] = { index, event_id: result.eventId, status: 'invalid', errors: result.errors };
      else valid.push({ index, tick: { ...result.tick, receivedAt, traceId } });
    });
    if (valid.length === 0) {
      this.ingest.countInvalid(body.length);
      throw new FieldsException(
        HttpStatus.BAD_REQUEST,
        'validation failed: no valid tick',
        items.flatMap((item) => ('errors' in item ? item.errors.map((e) => ({ field: `[${item.index}].${e.field}`, reason: e.reason })) : [])),
      );
    }
    const outcomes = await this.ingest.ingest(valid.map((v) => v.tick));
    valid.forEach(({ index, tick }, k) => {
      const outcome = outcomes[k];
      // A tick refused by a cap is reported as invalid, naming the field: retrying it cannot help.
      items[index] =
        outcome.status === 'unavailable'
          ? { index, event_id: tick.event_id, status: 'unavailable', reason: outcome.reason }
          : outcome.status === 'refused'
            ? { index, event_id: tick.event_id, status: 'invalid', errors: [{ field: outcome.field, reason: outcome.reason }] }
            : { index, event_id: tick.event_id, status: outcome.status };
    });
    const count = (status: BatchItemResult['status']) => items.filter((item) => item.status === status).length;
    const ack: BatchAck = {
      errors: valid.length !== body.length || outcomes.some((o) => o.status === 'unavailable'),
      accepted: count('accepted'),
      duplicate: count('duplicate'),
      invalid: count('invalid'),
      unavailable: count('unavailable'),
      items,
    };
    // Items refused by MAX_SYMBOLS are counted by the service (symbol_limit), not as invalid.
    const refused = outcomes.filter((o) => o.status === 'refused').length;
    if (ack.invalid > refused) this.ingest.countInvalid(ack.invalid - refused);
    if (ack.unavailable > 0) {
      const retryAfterS = Math.max(...outcomes.map((o) => (o.status === 'unavailable' ? o.retryAfterS : 1)));
      void reply.status(HttpStatus.SERVICE_UNAVAILABLE).header('Retry-After', String(retryAfterS));
    }
    return ack;
  }
}
