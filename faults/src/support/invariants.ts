import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { compareSeq, MessageType, type SymbolView, type Tick } from '@md/contracts';
import { referenceView, viewMismatch } from '@md/market-calc';
import type { SseEvent } from '@md/testing';
import type { TickDriver } from './driver';
import type { Stack } from './stack';

/** One line of the report (npm run test:faults prints them as a table). */
export interface ScenarioResult {
  scenario: string;
  sent: number;
  accepted: number;
  stored: number;
  lost: number;
  duplicated: number;
  viewsCorrect: boolean;
  /** Stream updates neither received nor explicitly reset or conflated (null: no stream client in this scenario). */
  silentGaps: number | null;
  failures: string[];
}

const REPORT = join(__dirname, '../../../tmp/faults/report.jsonl');

/**
 * The updates a stream client missed silently: every `symbol.updated` published (history)
 * must have been received, or be covered by a snapshot (the first one, or one after a
 * `reset`), or be counted in the `skipped` of the next update received for its symbol.
 * Also, the client's final view of each symbol must be the stored one.
 */
export function silentGaps(
  published: { seq: string; type: string; symbol: string }[],
  events: SseEvent[],
  finalViews: Map<string, SymbolView>,
): { gaps: number; detail: string[] } {
  const received = new Map<string, SseEvent>();
  // Windows (after, upTo]: messages a snapshot stands for.
  const windows: [string, string][] = [];
  let lastSeq = '0-0';
  let afterReset = true; // the first snapshot covers everything before it
  const finalSeen = new Map<string, number>();
  for (const event of events) {
    if (event.event === 'reset') afterReset = true;
    if (event.event === 'snapshot') {
      if (afterReset) windows.push([afterReset && windows.length === 0 ? '0-0' : lastSeq, event.data.seq]);
      afterReset = false;
      for (const view of event.data.views as SymbolView[]) finalSeen.set(view.symbol, view.tickCount);
    }
    if (event.event === MessageType.SymbolUpdated) {
      received.set(event.data.seq, event);
      finalSeen.set(event.data.symbol, Math.max(finalSeen.get(event.data.symbol) ?? 0, event.data.view.tickCount));
    }
    if (event.id) lastSeq = event.id;
  }
  const covered = (seq: string) => windows.some(([after, upTo]) => compareSeq(seq, after) > 0 && compareSeq(seq, upTo) <= 0);

  const detail: string[] = [];
  const missingBySymbol = new Map<string, string[]>();
  for (const message of published) {
    if (message.type !== MessageType.SymbolUpdated || covered(message.seq)) continue;
    const got = received.get(message.seq);
    const missing = missingBySymbol.get(message.symbol) ?? [];
    if (!got) {
      missing.push(message.seq);
      missingBySymbol.set(message.symbol, missing);
      continue;
    }
    const skipped = Number(got.data.skipped ?? 0);
    if (missing.length > skipped)
      detail.push(
        `${message.symbol}: ${missing.length - skipped} update(s) before ${message.seq} missing (${missing.slice(0, 3).join(', ')}…)`,
      );
    missingBySymbol.set(message.symbol, []);
  }
  for (const [symbol, missing] of missingBySymbol)
    if (missing.length) detail.push(`${symbol}: the last ${missing.length} update(s) never arrived (${missing.slice(0, 3).join(', ')}…)`);
  for (const [symbol, view] of finalViews) {
    if (finalSeen.get(symbol) !== view.tickCount)
      detail.push(`${symbol}: the client ends at tickCount ${finalSeen.get(symbol)}, the stored view is at ${view.tickCount}`);
  }
  return { gaps: detail.length, detail };
}

/**
 * The invariants of every scenario, once the system is quiet. A: event_ids answered 2xx;
 * D: rows of md_ticks. NoLoss A ⊆ D; NoDup no event_id twice, and the constraint that makes
 * it so exists; ViewsOK each view equals the reference over D; NoSilentGap (see silentGaps).
 */
export async function checkInvariants(
  scenario: string,
  stack: Stack,
  driver: TickDriver,
  streamEvents?: SseEvent[],
): Promise<ScenarioResult> {
  await stack.quiesce();
  const rows = await stack.rows();
  const stored = new Set(rows.map((r) => r.event_id));
  const lost = [...driver.accepted].filter((id) => !stored.has(id));
  const duplicated = rows.length - stored.size;
  const failures: string[] = [];
  if (lost.length) failures.push(`NoLoss: ${lost.length} accepted ticks not in md_ticks (${lost.slice(0, 3).join(', ')}…)`);
  if (duplicated) failures.push(`NoDup: ${duplicated} duplicate rows`);
  // Partitioned by ts, the key must contain it: (event_id, ts), exactly (doc/storage-and-db.md#exactly-once).
  const [pk] = await stack.query(`
    SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey::int2[], a.attnum)) AS columns FROM pg_index i
    JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
    WHERE c.relname = 'md_ticks' AND i.indisprimary`);
  if (pk?.columns !== 'event_id,ts') failures.push(`NoDup: md_ticks' primary key is (${pk?.columns ?? 'none'}), not (event_id, ts)`);
  if (driver.refused.size) failures.push(`${driver.refused.size} valid ticks refused with a 4xx`);

  const views = await stack.views();
  const bySymbol = new Map<string, Tick[]>();
  for (const row of rows) bySymbol.set(row.symbol, [...(bySymbol.get(row.symbol) ?? []), row]);
  let viewsCorrect = views.size === bySymbol.size;
  if (!viewsCorrect) failures.push(`ViewsOK: ${views.size} views for ${bySymbol.size} symbols`);
  for (const [symbol, ticks] of bySymbol) {
    const view = views.get(symbol);
    const mismatch = view ? viewMismatch(view, referenceView(ticks)) : 'no view';
    if (mismatch) {
      viewsCorrect = false;
      failures.push(`ViewsOK: ${symbol}: ${mismatch}`);
    }
  }

  let gaps: number | null = null;
  if (streamEvents) {
    const result = silentGaps(await stack.published(), streamEvents, views);
    gaps = result.gaps;
    if (gaps) failures.push(...result.detail.map((d) => `NoSilentGap: ${d}`));
  }

  const result: ScenarioResult = {
    scenario,
    sent: driver.sent,
    accepted: driver.accepted.size,
    stored: rows.length,
    lost: lost.length,
    duplicated,
    viewsCorrect,
    silentGaps: gaps,
    failures,
  };
  mkdirSync(join(REPORT, '..'), { recursive: true });
  appendFileSync(REPORT, `${JSON.stringify(result)}\n`);
  return result;
}
