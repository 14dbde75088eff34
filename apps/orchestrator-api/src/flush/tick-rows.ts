import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Candle, ReceivedTick } from '@md/contracts';

/**
 * One buffered tick: the id of the stream entry it came in (an entry holds a chunk of ticks, so
 * several share an id), whether that entry's ticks are in the buffer's count (a chunked entry,
 * field `b`; not a one-tick entry, field `t`: see lua/commit.lua of @md/pipeline), and the tick
 * (or, when it could not be read, its raw text).
 */
export type BufferedTick = { id: string; counted: boolean } & ({ tick: ReceivedTick; raw?: undefined } | { tick?: undefined; raw: string });

/** Ticks parsed between two turns of the event loop: about 1 ms of JSON.parse. */
const PARSE_SLICE = 500;

/**
 * Stream entries ([id, [field, value, …]]) → buffered ticks, each entry's in order: field `b`
 * holds a JSON array of ticks (one entry per ingest chunk), field `t` one tick (an api before
 * chunked entries). What cannot be read keeps its raw text: an entry that is not JSON (or not an
 * array) as one, an element that is not a tick as one. Yields to the event loop every
 * PARSE_SLICE ticks: parsing a batch of thousands at once would hold up every request that
 * arrives meanwhile (about 10 ms per 5,000).
 */
export async function parseEntries(entries: [string, string[]][]): Promise<BufferedTick[]> {
  const out: BufferedTick[] = [];
  let sinceYield = 0;
  for (const [id, fields] of entries) {
    if (sinceYield >= PARSE_SLICE) {
      sinceYield = 0;
      await nextTurn();
    }
    const before = out.length;
    parseEntry(id, fields, out);
    sinceYield += out.length - before;
  }
  return out;
}

function parseEntry(id: string, fields: string[], out: BufferedTick[]): void {
  const chunk = fields.indexOf('b');
  const counted = chunk >= 0;
  const raw = fields[(counted ? chunk : fields.indexOf('t')) + 1] ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    out.push({ id, counted, raw });
    return;
  }
  if (!counted) {
    out.push(isTick(parsed) ? { id, counted, tick: parsed } : { id, counted, raw });
  } else if (!Array.isArray(parsed) || parsed.length === 0) {
    out.push({ id, counted, raw });
  } else {
    for (const item of parsed as unknown[])
      out.push(isTick(item) ? { id, counted, tick: item } : { id, counted, raw: JSON.stringify(item) ?? String(item) });
  }
}

function isTick(value: unknown): value is ReceivedTick {
  return typeof (value as ReceivedTick | null)?.event_id === 'string';
}

/**
 * Per entry id, how many of its ticks are in the buffer's count: what acknowledging the entries
 * takes out of it (a chunked entry's rows, 0 for a one-tick entry's).
 */
export function countedTicksPerEntry(rows: readonly BufferedTick[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { id, counted } of rows) counts.set(id, (counts.get(id) ?? 0) + (counted ? 1 : 0));
  return counts;
}

/** The batch with each event_id once (the first): a repeated event_id in a batch is written once. */
export function uniqueByEventId(ticks: ReceivedTick[]): ReceivedTick[] {
  const seen = new Set<string>();
  return ticks.filter((t) => !seen.has(t.event_id) && seen.add(t.event_id));
}

/**
 * Column arrays for `INSERT … SELECT FROM unnest(…)`: one parameter per column, whatever the
 * batch size. A repeated event_id in the batch is written once (the first).
 */
export function columns(ticks: ReceivedTick[]) {
  const unique = uniqueByEventId(ticks);
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

/** The batch as rows (the unnest of `columns`). */
const ROWS = `
  SELECT e, s, p, v, src, to_timestamp(t / 1000.0), to_timestamp(r / 1000.0)
  FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[], $6::bigint[], $7::bigint[])
    AS u(e, s, p, v, src, t, r)`;

/**
 * After a CTE `m` of the batch's 1m bars (symbol, t, open, high, low, close, volume, trades,
 * open_ts, open_id, close_ts, close_id): `bars`, those and the 1h and 1d bars made of them, and
 * `merged`, all of them merged into md_candles.
 *
 * Merging into a bar that exists (a late tick, a tick flushed by another replica, the next
 * batch): high/low by max/min, volume and trades added, and open/close taken from whichever
 * side has the earlier/later (ts, event_id), event_id in byte order (COLLATE "C"), the order of
 * the views (libs/market-calc order.ts). So a bar equals the aggregate of its ticks whatever
 * the order and batching in which they were written; volume up to the rounding of a sum of
 * doubles in another order. 1h and 1d bars come from the batch's 1m bars, merged the same way.
 */
const MERGE_BARS = `  ), bars AS (
    SELECT symbol, '1m'::text AS width, t, open, high, low, close, volume, trades, open_ts, open_id, close_ts, close_id FROM m
    UNION ALL
    SELECT symbol, w.width, date_trunc(w.unit, t, 'UTC'),
           (array_agg(open ORDER BY open_ts, open_id COLLATE "C"))[1], max(high), min(low),
           (array_agg(close ORDER BY close_ts DESC, close_id COLLATE "C" DESC))[1], sum(volume), sum(trades)::int,
           min(open_ts), (array_agg(open_id ORDER BY open_ts, open_id COLLATE "C"))[1],
           max(close_ts), (array_agg(close_id ORDER BY close_ts DESC, close_id COLLATE "C" DESC))[1]
      FROM m CROSS JOIN (VALUES ('1h'::text, 'hour'::text), ('1d', 'day')) AS w(width, unit)
     GROUP BY symbol, w.width, date_trunc(w.unit, t, 'UTC')
  ), merged AS (
    -- In key order: two flushers merging into the same bars lock them in the same order.
    INSERT INTO md_candles AS c (symbol, width, t, open, high, low, close, volume, trades, open_ts, open_id, close_ts, close_id)
    SELECT * FROM bars ORDER BY symbol, width, t
    ON CONFLICT (symbol, width, t) DO UPDATE SET
      open     = CASE WHEN (excluded.open_ts, excluded.open_id) < (c.open_ts, c.open_id) THEN excluded.open ELSE c.open END,
      open_ts  = CASE WHEN (excluded.open_ts, excluded.open_id) < (c.open_ts, c.open_id) THEN excluded.open_ts ELSE c.open_ts END,
      open_id  = CASE WHEN (excluded.open_ts, excluded.open_id) < (c.open_ts, c.open_id) THEN excluded.open_id ELSE c.open_id END,
      close    = CASE WHEN (excluded.close_ts, excluded.close_id) > (c.close_ts, c.close_id) THEN excluded.close ELSE c.close END,
      close_ts = CASE WHEN (excluded.close_ts, excluded.close_id) > (c.close_ts, c.close_id) THEN excluded.close_ts ELSE c.close_ts END,
      close_id = CASE WHEN (excluded.close_ts, excluded.close_id) > (c.close_ts, c.close_id) THEN excluded.close_id ELSE c.close_id END,
      high     = greatest(c.high, excluded.high),
      low      = least(c.low, excluded.low),
      volume   = c.volume + excluded.volume,
      trades   = c.trades + excluded.trades
    RETURNING 1
  )`;

/**
 * Ticks and their candles in ONE statement (so in the batch's transaction: a bar is never ahead
 * of or behind its ticks). The bars are built from the rows the INSERT returns, i.e. only the
 * rows actually written: a batch written again adds nothing to any bar.
 */
function writeTicksAndCandles(onConflict: string): string {
  return `
  WITH ins AS (
    INSERT INTO md_ticks (event_id, symbol, price, volume, source, ts, received_at) ${ROWS} ${onConflict}
    RETURNING symbol, ts, event_id, price, volume
  ), m AS (
    SELECT symbol, date_trunc('minute', ts, 'UTC') AS t,
           (array_agg(price ORDER BY ts, event_id COLLATE "C"))[1] AS open, max(price) AS high, min(price) AS low,
           (array_agg(price ORDER BY ts DESC, event_id COLLATE "C" DESC))[1] AS close, sum(volume) AS volume, count(*)::int AS trades,
           min(ts) AS open_ts, (array_agg(event_id ORDER BY ts, event_id COLLATE "C"))[1] AS open_id,
           max(ts) AS close_ts, (array_agg(event_id ORDER BY ts DESC, event_id COLLATE "C" DESC))[1] AS close_id
      FROM ins GROUP BY 1, 2
${MERGE_BARS}
  SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM merged)::int AS bars`;
}

/**
 * The rows of `columns`, skipping those that exist already (a batch written again), and the
 * candles of those written. The key is (event_id, ts): doc/storage-and-db.md#exactly-once.
 */
export const INSERT_TICKS = writeTicksAndCandles('ON CONFLICT (event_id, ts) DO NOTHING');

/**
 * The candles of ticks just written (all of them new: the COPY of tick-copy.ts would have
 * failed otherwise), from their 1m bars (`minuteBarColumns`), merged as INSERT_TICKS merges.
 */
export const MERGE_MINUTE_BARS = `
  WITH m AS (
    SELECT symbol, to_timestamp(t / 1000.0) AS t, open, high, low, close, volume, trades,
           to_timestamp(ot / 1000.0) AS open_ts, open_id, to_timestamp(ct / 1000.0) AS close_ts, close_id
      FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::int[],
                  $9::bigint[], $10::text[], $11::bigint[], $12::text[])
        AS u(symbol, t, open, high, low, close, volume, trades, ot, open_id, ct, close_id)
${MERGE_BARS}
  SELECT (SELECT count(*) FROM merged)::int AS bars`;

/** A 1m bar of the batch: a candle, with what merging it into a stored bar needs. */
interface MinuteBar extends Omit<Candle, 'final'> {
  symbol: string;
  openTs: number;
  openId: string;
  closeTs: number;
  closeId: string;
}

/**
 * The 1m bars of `ticks` (each event_id once) as MERGE_MINUTE_BARS's parameters: what the `m`
 * of INSERT_TICKS computes in SQL. Open and close by (ts, event_id), event_id compared as
 * JavaScript compares strings, which is byte order (COLLATE "C") for ASCII: the caller passes only
 * ticks whose event_id is ASCII (`copyable`, tick-copy.ts; ingest admits nothing else).
 */
export function minuteBarColumns(ticks: ReceivedTick[]) {
  const bySymbol = new Map<string, Map<number, MinuteBar>>();
  const all: MinuteBar[] = [];
  for (const { symbol, ts, event_id, price, volume } of ticks) {
    const t = Math.floor(ts / 60_000) * 60_000;
    let minutes = bySymbol.get(symbol);
    if (!minutes) bySymbol.set(symbol, (minutes = new Map()));
    const bar = minutes.get(t);
    if (!bar) {
      const created = {
        symbol,
        t,
        open: price,
        high: price,
        low: price,
        close: price,
        volume,
        trades: 1,
        openTs: ts,
        openId: event_id,
        closeTs: ts,
        closeId: event_id,
      };
      minutes.set(t, created);
      all.push(created);
      continue;
    }
    if (ts < bar.openTs || (ts === bar.openTs && event_id < bar.openId)) {
      bar.open = price;
      bar.openTs = ts;
      bar.openId = event_id;
    }
    if (ts > bar.closeTs || (ts === bar.closeTs && event_id > bar.closeId)) {
      bar.close = price;
      bar.closeTs = ts;
      bar.closeId = event_id;
    }
    if (price > bar.high) bar.high = price;
    if (price < bar.low) bar.low = price;
    bar.volume += volume;
    bar.trades += 1;
  }
  const column = <K extends keyof MinuteBar>(key: K) => all.map((bar) => bar[key]);
  return [
    column('symbol'),
    column('t'),
    column('open'),
    column('high'),
    column('low'),
    column('close'),
    column('volume'),
    column('trades'),
    column('openTs'),
    column('openId'),
    column('closeTs'),
    column('closeId'),
  ];
}
