import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { QueryRunner } from 'typeorm';
import { TickRules, type ReceivedTick } from '@md/contracts';

/**
 * New rows into md_ticks by `COPY … FROM STDIN (FORMAT binary)`: the fast path of a batch
 * (BatchWriter). PostgreSQL inserts a COPY's rows in multi-row batches, where `INSERT … SELECT`
 * inserts them one by one; binary spares both sides formatting and parsing the numbers and
 * timestamps (doc/performance.md, "The flusher by COPY"). A COPY has no ON CONFLICT: one row
 * that exists (a batch written again after a crash between COMMIT and acknowledgement) fails it
 * with 23505, and the writer then takes INSERT_TICKS, which it also uses row by row when a row is refused.
 */
@Injectable()
export class TickCopy {
  /** Copies `ticks` (each event_id once, every one `copyable`) on the runner's connection, inside its transaction. */
  async copy(runner: QueryRunner, ticks: ReceivedTick[]): Promise<void> {
    // TypeORM's PostgresQueryRunner resolves connect() to the node-postgres client it holds.
    const client = (await runner.connect()) as PoolClient;
    await pipeline(Readable.from([encodeRows(ticks)]), client.query(copyFrom(COPY_TICKS)));
  }
}

const COPY_TICKS = 'COPY md_ticks (event_id, symbol, price, volume, source, ts, received_at) FROM STDIN (FORMAT binary)';

/** PostgreSQL's epoch (2000-01-01) in Unix ms: binary timestamps count microseconds from it. */
const PG_EPOCH_MS = 946_684_800_000;

/** Visible ASCII, as ingest admits (TickRules.eventIdPattern): JavaScript's order of such ids is COLLATE "C". */
const ASCII_ID = /^[\x21-\x7e]+$/;

/**
 * A tick the COPY path writes exactly as INSERT_TICKS would, which is what ingest admits:
 * - a symbol of TickRules.symbolPattern (ASCII: two symbols the JavaScript bars tell apart are
 *   never one text to PostgreSQL, as two lone surrogates both encoded U+FFFD would be);
 * - an ASCII event_id (JavaScript orders such ids as COLLATE "C" does, for the bars' ties);
 * - a string source, finite price and volume;
 * - ts and receivedAt in whole milliseconds within 2^32 s of 1970 (until 2106): INSERT_TICKS's
 *   to_timestamp(t / 1000.0) passes seconds as a double, exact to the microsecond only there, and a
 *   batch written again by INSERT_TICKS must find the very rows COPY wrote.
 * A batch with any other entry takes INSERT_TICKS, which judges it as before.
 */
export function copyable(tick: ReceivedTick): boolean {
  return (
    typeof tick.symbol === 'string' &&
    TickRules.symbolPattern.test(tick.symbol) &&
    typeof tick.source === 'string' &&
    typeof tick.event_id === 'string' &&
    ASCII_ID.test(tick.event_id) &&
    Number.isFinite(tick.price) &&
    Number.isFinite(tick.volume) &&
    exactTimestamp(tick.ts) &&
    exactTimestamp(tick.receivedAt)
  );
}

const exactTimestamp = (ms: number) => Number.isSafeInteger(ms) && Math.abs(ms) < 2 ** 32 * 1000;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const FIELDS = 7;
const TWO_32 = 2 ** 32;

/**
 * The rows in PostgreSQL's binary COPY format: the header (signature, flags, extension length),
 * per row the field count and each field as its length and bytes (text as UTF-8, float8 as IEEE
 * 754, timestamptz as int64 microseconds since 2000), and the trailer (-1).
 */
export function encodeRows(ticks: ReceivedTick[]): Buffer {
  // Per row: field count (2), 7 lengths (28), 4 fixed-width fields (32), and the three texts at
  // their UTF-8 length, which is at most 3 bytes per UTF-16 unit: sized for that, cut after.
  let size = SIGNATURE.length + 8 + 2;
  for (const t of ticks) size += 2 + 4 * FIELDS + 32 + 3 * (t.event_id.length + t.symbol.length + t.source.length);
  const out = Buffer.allocUnsafe(size);
  // DataView: its big-endian writes compile to a few instructions (Buffer's write*BE check more).
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = SIGNATURE.copy(out, 0);
  view.setInt32(at, 0); // flags
  view.setInt32(at + 4, 0); // header extension length
  at += 8;
  const text = (value: string) => {
    // ASCII byte by byte (ids and symbols are short: a call into Buffer.write costs more than the loop).
    let i = 0;
    for (; i < value.length; i++) {
      const code = value.charCodeAt(i);
      if (code > 0x7f) break;
      out[at + 4 + i] = code;
    }
    const length = i === value.length ? i : i + out.write(value.slice(i), at + 4 + i, 'utf8');
    view.setInt32(at, length);
    at += 4 + length;
  };
  const float8 = (value: number) => {
    view.setInt32(at, 8);
    view.setFloat64(at + 4, value);
    at += 12;
  };
  const timestamp = (ms: number) => {
    // Whole microseconds below 2^53: exact in a double; split into the int64's two halves.
    const us = (ms - PG_EPOCH_MS) * 1000;
    const high = Math.floor(us / TWO_32);
    view.setInt32(at, 8);
    view.setInt32(at + 4, high);
    view.setUint32(at + 8, us - high * TWO_32);
    at += 12;
  };
  for (const t of ticks) {
    view.setInt16(at, FIELDS);
    at += 2;
    text(t.event_id);
    text(t.symbol);
    float8(t.price);
    float8(t.volume);
    text(t.source);
    timestamp(t.ts);
    timestamp(t.receivedAt);
  }
  view.setInt16(at, -1);
  return out.subarray(0, at + 2);
}
