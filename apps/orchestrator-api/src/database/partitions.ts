/**
 * md_ticks is partitioned by range of ts, one partition per UTC day, named after its day
 * (md_ticks_p20250602), plus at most one partition for everything before the first day
 * (md_ticks_before_20250526, FROM MINVALUE: what the migration from the unpartitioned table
 * attached, and the place of back-filled ticks while RETENTION_DAYS is 0). Bounds are read from
 * the names, so nothing has to parse PostgreSQL's text form of partition bounds.
 */
export const DAY_MS = 86_400_000;
/** Daily partitions exist this many days beyond today (ingest accepts ticks minutes ahead at most). */
export const PARTITIONS_AHEAD_DAYS = 2;

const DAILY = /^md_ticks_p(\d{4})(\d{2})(\d{2})$/;
const BEFORE = /^md_ticks_before_(\d{4})(\d{2})(\d{2})$/;

export interface PartitionBounds {
  name: string;
  /** Inclusive, epoch ms; -Infinity for the partition FROM MINVALUE. */
  from: number;
  /** Exclusive, epoch ms. */
  to: number;
}

export const dayStart = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');

export const dailyName = (day: number) => `md_ticks_p${ymd(day)}`;
export const beforeName = (day: number) => `md_ticks_before_${ymd(day)}`;

/** Bounds of a partition from its name; undefined for a table that is not one of ours. */
export function boundsOf(name: string): PartitionBounds | undefined {
  const daily = DAILY.exec(name);
  if (daily) {
    const from = Date.UTC(Number(daily[1]), Number(daily[2]) - 1, Number(daily[3]));
    return { name, from, to: from + DAY_MS };
  }
  const before = BEFORE.exec(name);
  if (before) return { name, from: -Infinity, to: Date.UTC(Number(before[1]), Number(before[2]) - 1, Number(before[3])) };
  return undefined;
}

/**
 * Ticks with ts before this are past retention: the flusher does not write them, and every
 * partition that ends at or before it is dropped. Undefined: kept forever (RETENTION_DAYS=0).
 */
export function retentionHorizon(retentionDays: number, now: number): number | undefined {
  return retentionDays > 0 ? dayStart(now) - retentionDays * DAY_MS : undefined;
}

/**
 * What maintenance does to the partitions it found: the days to create and the partitions to drop.
 * Every day from the start to PARTITIONS_AHEAD_DAYS ahead gets a partition unless one covers it
 * already, gaps included (never a gap a tick could fall into): the start is the retention horizon
 * (so raising RETENTION_DAYS creates the days back to the new horizon), or with RETENTION_DAYS=0
 * the end of the newest partition that ends by today (contiguous from it), or today. A partition
 * far ahead (a bogus future row kept by the migration) does not stop the days before it.
 */
export function plan(existing: PartitionBounds[], retentionDays: number, now: number): { create: number[]; drop: PartitionBounds[] } {
  const horizon = retentionHorizon(retentionDays, now);
  const today = dayStart(now);
  const drop = horizon === undefined ? [] : existing.filter((p) => p.to <= horizon);
  const kept = existing.filter((p) => !drop.includes(p));
  const start = horizon ?? Math.max(-Infinity, ...kept.map((p) => p.to).filter((to) => to <= today));
  const until = today + (PARTITIONS_AHEAD_DAYS + 1) * DAY_MS;
  const covered = (day: number) => kept.some((p) => p.from <= day && day < p.to);
  const create: number[] = [];
  for (let day = Number.isFinite(start) ? start : today; day < until; day += DAY_MS) if (!covered(day)) create.push(day);
  return { create, drop };
}
