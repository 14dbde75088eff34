import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { OrchestratorApiEnv } from '@md/config';
import { CANDLE_INTERVALS, type Candle, type CandleInterval, type TickRow } from '@md/contracts';
import { FieldsException, UnavailableException } from '@md/platform';
import { DatabaseService } from '../database/database.service';
import { CANDLE_SOURCES } from './dto/history-query.dto';
import { READS_IN_FLIGHT, READS_REFUSED } from './history.metrics';

const EPOCH_MS = (column: string) => `(extract(epoch from ${column}) * 1000)::bigint`;
/** SQLSTATE of a statement cancelled by statement_timeout. */
const QUERY_CANCELED = '57014';

type Row = Record<string, string | number>;

/**
 * Reads of md_ticks and md_candles, on the reader pool only (never the flusher's connections).
 * Each read's cost is bounded before it runs: history by `limit`, candles by `limit` bars of a
 * rollup (or, under a minute, by CANDLES_MAX_TICK_SPAN_S of raw ticks); each statement by
 * PG_READ_STATEMENT_TIMEOUT_MS; and at most PG_READ_POOL_MAX run at once: one more is answered
 * 503 + Retry-After at once rather than queued behind them.
 */
@Injectable()
export class HistoryService {
  private readonly logger = new Logger('history');
  private inFlight = 0;

  constructor(
    private readonly database: DatabaseService,
    private readonly env: OrchestratorApiEnv,
    @InjectMetric(READS_REFUSED) private readonly refused: Counter<string>,
    @InjectMetric(READS_IN_FLIGHT) private readonly running: Gauge<string>,
  ) {}

  async ticks(symbol: string, limit: number): Promise<TickRow[]> {
    const rows = await this.read<Row>(
      // Ordered by the columns (m.ts), not the output aliases of the same name: only those can
      // walk md_ticks_symbol_ts backwards, partition by partition, and stop after `limit` rows.
      `SELECT m.event_id, m.symbol, m.price, m.volume, m.source, ${EPOCH_MS('m.ts')} AS ts, ${EPOCH_MS('m.received_at')} AS received_at
         FROM md_ticks m WHERE m.symbol = $1 ORDER BY m.ts DESC, m.event_id DESC LIMIT $2`,
      [symbol, limit],
    );
    return rows.map((r) => ({
      event_id: String(r.event_id),
      symbol: String(r.symbol),
      price: Number(r.price),
      volume: Number(r.volume),
      source: String(r.source),
      ts: Number(r.ts),
      received_at: Number(r.received_at),
    }));
  }

  /**
   * OHLCV bars of `interval`, the newest `limit` of them, oldest first. Open and close are the
   * first and last tick of the bar by (ts, event_id), the order the views use.
   *  - 1m, 1h, 1d: the rollup of that width, `limit` rows by its primary key;
   *  - 5m: from the 1m rollup (5 × `limit` rows at most);
   *  - 1s, 5s: from the raw ticks of the span of the last `limit` bars, which must not exceed
   *    CANDLES_MAX_TICK_SPAN_S (400 naming `limit` otherwise).
   */
  async candles(symbol: string, interval: CandleInterval, limit: number, now = Date.now()): Promise<Candle[]> {
    const ms = CANDLE_INTERVALS[interval];
    const source = CANDLE_SOURCES[interval];
    let rows: Row[];
    if (source === interval) {
      rows = await this.read<Row>(
        `SELECT ${EPOCH_MS('c.t')} AS t, c.open, c.high, c.low, c.close, c.volume, c.trades
           FROM md_candles c WHERE c.symbol = $1 AND c.width = $2 ORDER BY c.t DESC LIMIT $3`,
        [symbol, source, limit],
      );
    } else if (source !== 'ticks') {
      rows = await this.read<Row>(
        // Bars from the newest `limit` buckets of the source rollup, whole buckets only.
        `WITH newest AS (SELECT max(t) AS t FROM md_candles WHERE symbol = $1 AND width = $2),
              src AS (
                SELECT (floor(extract(epoch from c.t) * 1000 / $3) * $3)::bigint AS b, c.*
                  FROM md_candles c, newest
                 WHERE c.symbol = $1 AND c.width = $2
                   AND c.t >= to_timestamp((floor(extract(epoch from newest.t) * 1000 / $3) - ($4 - 1)) * $3 / 1000.0))
         SELECT b AS t, (array_agg(open ORDER BY t))[1] AS open, max(high) AS high, min(low) AS low,
                (array_agg(close ORDER BY t DESC))[1] AS close, sum(volume) AS volume, sum(trades)::int AS trades
           FROM src GROUP BY b ORDER BY b DESC LIMIT $4`,
        [symbol, source, ms, limit],
      );
    } else {
      const spanS = (limit * ms) / 1000;
      if (spanS > this.env.CANDLES_MAX_TICK_SPAN_S) {
        const most = Math.floor((this.env.CANDLES_MAX_TICK_SPAN_S * 1000) / ms);
        throw new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', [
          {
            field: 'limit',
            reason: `limit must be at most ${most} with interval=${interval} (limit × interval ≤ CANDLES_MAX_TICK_SPAN_S = ${this.env.CANDLES_MAX_TICK_SPAN_S} s)`,
          },
        ]);
      }
      rows = await this.read<Row>(
        `WITH newest AS (SELECT max(ts) AS ts FROM md_ticks WHERE symbol = $1),
              bars AS (
                SELECT (floor(extract(epoch from m.ts) * 1000 / $2) * $2)::bigint AS t, m.ts, m.event_id, m.price, m.volume
                  FROM md_ticks m, newest
                 -- From the start of the oldest bar asked for: whole bars only.
                 WHERE m.symbol = $1
                   AND m.ts >= to_timestamp((floor(extract(epoch from newest.ts) * 1000 / $2) - ($3 - 1)) * $2 / 1000.0))
         SELECT t,
                (array_agg(price ORDER BY ts, event_id COLLATE "C"))[1] AS open,
                max(price) AS high,
                min(price) AS low,
                (array_agg(price ORDER BY ts DESC, event_id COLLATE "C" DESC))[1] AS close,
                sum(volume) AS volume,
                count(*)::int AS trades
           FROM bars GROUP BY t ORDER BY t DESC LIMIT $3`,
        [symbol, ms, limit],
      );
    }
    return rows.reverse().map((r) => ({
      t: Number(r.t),
      open: Number(r.open),
      high: Number(r.high),
      low: Number(r.low),
      close: Number(r.close),
      volume: Number(r.volume),
      trades: Number(r.trades),
      final: Number(r.t) + ms <= now,
    }));
  }

  /**
   * One read on the reader pool, within the concurrency cap. Public for the pool-separation
   * test, which holds the read slots with pg_sleep. Answers say why, never the database's text.
   */
  async read<T>(sql: string, params: unknown[]): Promise<T[]> {
    if (this.inFlight >= this.env.PG_READ_POOL_MAX) {
      this.refused.inc({ reason: 'busy' });
      throw new UnavailableException(`too many history reads in progress (PG_READ_POOL_MAX = ${this.env.PG_READ_POOL_MAX}); retry`);
    }
    this.inFlight += 1;
    this.running.set(this.inFlight);
    try {
      const reader = await this.database.connectedWithin(2_000).catch((error: Error) => {
        this.refused.inc({ reason: 'unavailable' });
        this.logger.warn({ err: error.message }, 'history read: Postgres unavailable');
        throw new UnavailableException('history unavailable: database not reachable; retry');
      });
      return await reader.query(sql, params).catch((error: Error & { driverError?: { code?: string }; code?: string }) => {
        const code = error.driverError?.code ?? error.code;
        if (code === QUERY_CANCELED) {
          this.refused.inc({ reason: 'timeout' });
          throw new UnavailableException(
            `history read cancelled after PG_READ_STATEMENT_TIMEOUT_MS = ${this.env.PG_READ_STATEMENT_TIMEOUT_MS} ms; retry`,
          );
        }
        this.refused.inc({ reason: 'unavailable' });
        this.logger.warn({ err: error.message }, 'history read failed');
        throw new UnavailableException('history unavailable; retry');
      });
    } finally {
      this.inFlight -= 1;
      this.running.set(this.inFlight);
    }
  }
}
