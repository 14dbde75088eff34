import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * md_ticks becomes a table partitioned by range of ts (one partition per UTC day, created and
 * dropped by the api's storage maintenance), and md_candles holds OHLCV rollups the flusher
 * keeps in the same transaction as the ticks. Every existing row is kept, without copying: the
 * old table is attached as the partition of everything before `floor` (md_ticks_before_<day>),
 * which retention drops as a whole once all of it is past RETENTION_DAYS.
 *
 * The primary key becomes (event_id, ts): a unique key of a partitioned table must contain
 * the partition key. Why that still writes every tick once: doc/storage-and-db.md#exactly-once.
 * event_id is compared in the "C" collation (byte order), the tie-break order of the views
 * (libs/market-calc order.ts), whatever the database's default collation.
 */
/** How long the migration waits for md_ticks' lock (old replicas may be flushing into it). */
const LOCK_TIMEOUT = '5min';

export class PartitionMdTicks1795500000000 implements MigrationInterface {
  name = 'PartitionMdTicks1795500000000';

  async up(runner: QueryRunner): Promise<void> {
    // The writer pool cuts statements at 30 s; this transaction validates the ATTACH, builds the
    // indexes over every old row and aggregates them three times: minutes per ten million rows
    // (doc/storage-and-db.md#migrating). No statement limit here, and a generous wait for the
    // ACCESS EXCLUSIVE lock behind running flushes of old replicas.
    await runner.query('SET LOCAL statement_timeout = 0');
    await runner.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    // The old table becomes the partition of everything before tomorrow (ingest accepts ticks
    // minutes ahead at most). Rows beyond that (a bogus clock) go to daily partitions of their
    // own, or one such row would make the archive cover, and retention keep, every day up to it.
    // An empty table: 7 days back, so that the daily partitions maintenance creates cover the
    // last week.
    const [{ floor }] = (await runner.query(`
      SELECT to_char(CASE WHEN max(ts) IS NULL THEN date_trunc('day', now(), 'UTC') - interval '7 days'
                          ELSE date_trunc('day', now(), 'UTC') + interval '1 day' END AT TIME ZONE 'UTC',
                     'YYYYMMDD') AS floor
        FROM md_ticks`)) as [{ floor: string }];
    const archive = `md_ticks_before_${floor}`;
    const floorLiteral = `${floor.slice(0, 4)}-${floor.slice(4, 6)}-${floor.slice(6, 8)}T00:00:00Z`;
    const ahead = (await runner.query(
      `SELECT DISTINCT to_char(date_trunc('day', ts, 'UTC') AT TIME ZONE 'UTC', 'YYYYMMDD') AS day FROM md_ticks WHERE ts >= $1 ORDER BY 1`,
      [floorLiteral],
    )) as { day: string }[];

    await runner.query(`ALTER TABLE md_ticks RENAME TO ${archive}`);
    await runner.query(`ALTER TABLE ${archive} DROP CONSTRAINT md_ticks_pkey`);
    await runner.query('DROP INDEX md_ticks_symbol_ts');
    await runner.query(`ALTER TABLE ${archive} ALTER COLUMN event_id TYPE text COLLATE "C", ALTER COLUMN event_id SET NOT NULL`);

    await runner.query(`
      CREATE TABLE md_ticks (
        event_id    text COLLATE "C" NOT NULL,
        symbol      text             NOT NULL,
        price       double precision NOT NULL CONSTRAINT md_ticks_price_check CHECK (price > 0),
        volume      double precision NOT NULL CONSTRAINT md_ticks_volume_check CHECK (volume >= 0),
        source      text             NOT NULL,
        ts          timestamptz      NOT NULL,
        received_at timestamptz      NOT NULL,
        CONSTRAINT md_ticks_pkey PRIMARY KEY (event_id, ts)
      ) PARTITION BY RANGE (ts)`);
    await runner.query('CREATE INDEX md_ticks_symbol_ts ON md_ticks (symbol, ts DESC)');
    for (const { day } of ahead) {
      const from = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T00:00:00Z`;
      await runner.query(
        `CREATE TABLE md_ticks_p${day} PARTITION OF md_ticks FOR VALUES FROM ('${from}') TO (timestamptz '${from}' + interval '1 day')`,
      );
    }
    if (ahead.length) {
      await runner.query(`INSERT INTO md_ticks SELECT * FROM ${archive} WHERE ts >= $1`, [floorLiteral]);
      await runner.query(`DELETE FROM ${archive} WHERE ts >= $1`, [floorLiteral]);
    }
    // Builds the partition's indexes and checks its rows against the bound: one scan, no copy.
    await runner.query(`ALTER TABLE md_ticks ATTACH PARTITION ${archive} FOR VALUES FROM (MINVALUE) TO ('${floorLiteral}')`);

    // Bars of 1 minute, 1 hour and 1 day (UTC-aligned, start t). open/close carry the (ts,
    // event_id) of the tick they come from, so that a tick written later into a bar (late, or
    // by another flusher) merges into it exactly: see flush/tick-rows.ts.
    await runner.query(`
      CREATE TABLE md_candles (
        symbol   text             NOT NULL,
        width    text             NOT NULL CHECK (width IN ('1m', '1h', '1d')),
        t        timestamptz      NOT NULL,
        open     double precision NOT NULL,
        high     double precision NOT NULL,
        low      double precision NOT NULL,
        close    double precision NOT NULL,
        volume   double precision NOT NULL,
        trades   integer          NOT NULL,
        open_ts  timestamptz      NOT NULL,
        open_id  text COLLATE "C" NOT NULL,
        close_ts timestamptz      NOT NULL,
        close_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (symbol, width, t)
      )`);
    for (const [width, unit] of [
      ['1m', 'minute'],
      ['1h', 'hour'],
      ['1d', 'day'],
    ]) {
      await runner.query(`
        INSERT INTO md_candles (symbol, width, t, open, high, low, close, volume, trades, open_ts, open_id, close_ts, close_id)
        SELECT symbol, '${width}', date_trunc('${unit}', ts, 'UTC'),
               (array_agg(price ORDER BY ts, event_id))[1], max(price), min(price),
               (array_agg(price ORDER BY ts DESC, event_id DESC))[1], sum(volume), count(*)::int,
               min(ts), (array_agg(event_id ORDER BY ts, event_id))[1],
               max(ts), (array_agg(event_id ORDER BY ts DESC, event_id DESC))[1]
          FROM md_ticks GROUP BY symbol, date_trunc('${unit}', ts, 'UTC')`);
    }
    await runner.query('CREATE INDEX md_ticks_dead_letter_failed_at ON md_ticks_dead_letter (failed_at)');
  }

  /** Back to one unpartitioned table (every row copied); the rollups are dropped. */
  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP INDEX md_ticks_dead_letter_failed_at');
    await runner.query('DROP TABLE md_candles');
    await runner.query('ALTER TABLE md_ticks RENAME TO md_ticks_partitioned');
    await runner.query('ALTER TABLE md_ticks_partitioned RENAME CONSTRAINT md_ticks_pkey TO md_ticks_partitioned_pkey');
    await runner.query('ALTER INDEX md_ticks_symbol_ts RENAME TO md_ticks_partitioned_symbol_ts');
    await runner.query(`
      CREATE TABLE md_ticks (
        event_id    text             PRIMARY KEY,
        symbol      text             NOT NULL,
        price       double precision NOT NULL CHECK (price > 0),
        volume      double precision NOT NULL CHECK (volume >= 0),
        source      text             NOT NULL,
        ts          timestamptz      NOT NULL,
        received_at timestamptz      NOT NULL
      )`);
    await runner.query('CREATE INDEX md_ticks_symbol_ts ON md_ticks (symbol, ts DESC)');
    // Two rows of one event_id with different ts (see the up migration) keep the earliest.
    await runner.query(`
      INSERT INTO md_ticks SELECT DISTINCT ON (event_id) event_id, symbol, price, volume, source, ts, received_at
        FROM md_ticks_partitioned ORDER BY event_id, ts`);
    await runner.query('DROP TABLE md_ticks_partitioned');
  }
}
