import { Injectable } from '@nestjs/common';
import { UnavailableException } from '@md/platform';
import { DatabaseService } from '../database/database.service';
import { CANDLE_INTERVALS, type CandleInterval } from './dto/history-query.dto';
import type { CandleDto, TickRowDto } from './dto/history-rows.dto';

const EPOCH_MS = (column: string) => `(extract(epoch from ${column}) * 1000)::bigint`;

/** Reads of md_ticks (the Postgres history written by the FlushModule). */
@Injectable()
export class HistoryService {
  constructor(private readonly database: DatabaseService) {}

  async ticks(symbol: string, limit: number): Promise<TickRowDto[]> {
    const rows = await this.query<Record<string, string | number>>(
      `SELECT event_id, symbol, price, volume, source, ${EPOCH_MS('ts')} AS ts, ${EPOCH_MS('received_at')} AS received_at
         FROM md_ticks WHERE symbol = $1 ORDER BY ts DESC, event_id DESC LIMIT $2`,
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
   * first and last tick of the bar by (ts, event_id), the order the views use. Only the span of
   * the last `limit` bars before the symbol's newest tick is read (index on (symbol, ts DESC)).
   */
  async candles(symbol: string, interval: CandleInterval, limit: number, now = Date.now()): Promise<CandleDto[]> {
    const ms = CANDLE_INTERVALS[interval];
    const rows = await this.query<Record<string, string | number>>(
      `WITH newest AS (SELECT max(ts) AS ts FROM md_ticks WHERE symbol = $1),
            bars AS (
              SELECT (floor(extract(epoch from m.ts) * 1000 / $2) * $2)::bigint AS t, m.ts, m.event_id, m.price, m.volume
                FROM md_ticks m, newest
               -- From the start of the oldest bar asked for: whole bars only.
               WHERE m.symbol = $1
                 AND m.ts >= to_timestamp((floor(extract(epoch from newest.ts) * 1000 / $2) - ($3 - 1)) * $2 / 1000.0))
       SELECT t,
              (array_agg(price ORDER BY ts, event_id))[1] AS open,
              max(price) AS high,
              min(price) AS low,
              (array_agg(price ORDER BY ts DESC, event_id DESC))[1] AS close,
              sum(volume) AS volume,
              count(*)::int AS trades
         FROM bars GROUP BY t ORDER BY t DESC LIMIT $3`,
      [symbol, ms, limit],
    );
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

  private async query<T>(sql: string, params: unknown[]): Promise<T[]> {
    const dataSource = await this.database.connectedWithin(2_000).catch((error: Error) => {
      throw new UnavailableException(error.message);
    });
    return dataSource.query(sql, params).catch((error: Error) => {
      throw new UnavailableException(`history unavailable: ${error.message}`);
    });
  }
}
