import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tick history. event_id is the primary key: the constraint that makes every re-write
 * of a batch (a flusher that died between COMMIT and acknowledgement) change nothing.
 * Rows Postgres refuses are kept in md_ticks_dead_letter with the reason.
 */
export class CreateMdTicks1795400000000 implements MigrationInterface {
  name = 'CreateMdTicks1795400000000';

  async up(runner: QueryRunner): Promise<void> {
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
    await runner.query(`
      CREATE TABLE md_ticks_dead_letter (
        id        bigserial   PRIMARY KEY,
        event_id  text,
        payload   text        NOT NULL,
        error     text        NOT NULL,
        failed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query('CREATE UNIQUE INDEX md_ticks_dead_letter_event_id ON md_ticks_dead_letter (event_id) WHERE event_id IS NOT NULL');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE md_ticks_dead_letter');
    await runner.query('DROP TABLE md_ticks');
  }
}
