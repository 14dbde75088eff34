import type { ReceivedTick } from '@md/contracts';

/** One buffered entry: its stream id and the tick it carries (or why it could not be read). */
export interface BufferedTick {
  id: string;
  raw: string;
  tick?: ReceivedTick;
}

/** Stream entries ([id, [field, value, …]]) → buffered ticks; unreadable entries keep their raw text. */
export function parseEntries(entries: [string, string[]][]): BufferedTick[] {
  return entries.map(([id, fields]) => {
    const raw = fields[fields.indexOf('t') + 1] ?? '';
    try {
      const tick = JSON.parse(raw) as ReceivedTick;
      return typeof tick?.event_id === 'string' ? { id, raw, tick } : { id, raw };
    } catch {
      return { id, raw };
    }
  });
}

/**
 * Column arrays for `INSERT … SELECT FROM unnest(…)`: one parameter per column, whatever the
 * batch size. A repeated event_id in the batch is written once (the first).
 */
export function columns(ticks: ReceivedTick[]) {
  const seen = new Set<string>();
  const unique = ticks.filter((t) => !seen.has(t.event_id) && seen.add(t.event_id));
  return [
    unique.map((t) => t.event_id),
    unique.map((t) => t.symbol),
    unique.map((t) => t.price),
    unique.map((t) => t.volume),
    unique.map((t) => t.source),
    unique.map((t) => t.ts),
    unique.map((t) => t.receivedAt),
  ];
}

/** The rows of `columns` as new rows: fails (23505) when one exists already. */
export const INSERT_NEW_TICKS = `
  INSERT INTO md_ticks (event_id, symbol, price, volume, source, ts, received_at)
  SELECT e, s, p, v, src, to_timestamp(t / 1000.0), to_timestamp(r / 1000.0)
  FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[], $6::bigint[], $7::bigint[])
    AS u(e, s, p, v, src, t, r)`;

/** The rows of `columns`, skipping those that exist already (a batch written again). */
export const INSERT_TICKS = `${INSERT_NEW_TICKS}
  ON CONFLICT (event_id) DO NOTHING`;
