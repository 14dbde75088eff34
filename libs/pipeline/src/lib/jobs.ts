import { REPLAY_MARGIN_S, type ReceivedTick } from '@md/contracts';

/**
 * The jobs of the two queues: their names, payloads, options and ids. The api enqueues tick
 * chunks (see enqueue.ts), calc-a consumes them and enqueues view jobs, calc-b consumes those.
 */

/** BullMQ job names. */
export const JobName = {
  /** One tick (TickJob): what an api before chunks enqueued; calc-a still takes it, so a rolling upgrade loses nothing. */
  Tick: 'tick',
  /** Ticks from one ingest round (TickChunkJob). */
  Ticks: 'ticks',
  View: 'view',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** api → calc-a (ticks queue), job `tick`: one tick as the api accepted it. */
export type TickJob = ReceivedTick;

/**
 * api → calc-a (ticks queue), job `ticks`: ticks that one ingest round (one request, or several
 * concurrent ones, see IngestService) stored, of any symbols, grouped by symbol, each symbol's in
 * arrival order. calc-a applies each symbol's in one script call; dedupe stays per event_id
 * inside it. (An api before this version sent one symbol per job, with `symbol` set: calc-a
 * reads the symbol of each tick, so such a job is read the same.)
 */
export interface TickChunkJob {
  ticks: ReceivedTick[];
  /** Set by an api that sent one symbol per job; not read. */
  symbol?: string;
}

/**
 * The positions of `ticks` by symbol, in order of each symbol's first tick, each symbol's in
 * arrival order: how the api groups a round's ticks into TickChunkJobs, and how calc-a splits a
 * job into one script call per symbol.
 */
export function positionsBySymbol(ticks: readonly { symbol: string }[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  ticks.forEach((tick, k) => {
    const members = groups.get(tick.symbol);
    if (members) members.push(k);
    else groups.set(tick.symbol, [k]);
  });
  return groups;
}

/**
 * The BullMQ worker name (`Worker` option `name`, in its connection's client name) of a calc-a that
 * reads a TickChunkJob of several symbols. The api makes such jobs only while every worker of the
 * tick queue carries it (IngestService.refreshWorkers): a calc-a before this version reads
 * `symbol` and would apply every tick of a job to that one symbol, so during a rolling upgrade
 * the api keeps one symbol per job (with `symbol` set) until the last older consumer is gone.
 */
export const MIXED_CHUNK_WORKER = 'calc-a.mixed-chunks';

/**
 * Ticks per TickChunkJob at most: a round's ticks beyond it go in several jobs, so a job, the
 * completed ones the queue keeps, and each mdCalcA call (Redis runs nothing else meanwhile)
 * stay small.
 */
export const CHUNK_MAX_TICKS = 100;

/**
 * calc-a → calc-b (views queue): "this symbol changed". calc-b reads the symbol's newest summary
 * when it runs (mdSummary), so the job carries no state and one waiting job per symbol is
 * enough (viewJobOptions deduplicates by symbol). `receivedAt`/`traceId`: of the newest tick
 * of the symbol in the chunk that added the job (the first add while none waited, or the last while one ran),
 * for the latency metrics.
 */
export interface ViewJob {
  symbol: string;
  receivedAt?: number;
  traceId?: string;
}

/**
 * BullMQ options of a tick job (ticks.received), derived from DEDUPE_TTL_S so that a job is
 * never kept, and so never replayable, once its dedupe marker may be gone: replaying it
 * could count the tick a second time.
 */
export function tickJobOptions(dedupeTtlS: number) {
  const keepS = Math.max(0, dedupeTtlS - REPLAY_MARGIN_S);
  return {
    // The consumers' state, not the job, is the record of a tick: completed jobs go soon. A job
    // holds up to CHUNK_MAX_TICKS ticks, so 1,000 of them stay within a few tens of MB.
    removeOnComplete: { age: Math.min(3_600, keepS), count: 1_000 },
    // Failed jobs stay for inspection and replay, while their marker lives.
    removeOnFail: { age: keepS },
    attempts: 8,
    backoff: { type: 'exponential', delay: 250 },
  } as const;
}

/** The options of every tick job: tickJobOptions(DEDUPE_TTL_S). */
export type TickJobOptions = ReturnType<typeof tickJobOptions>;

/** BullMQ options of a view job (views.compute) for `symbol`. */
export function viewJobOptions(symbol: string) {
  return {
    attempts: 12,
    backoff: { type: 'exponential', delay: 200 },
    removeOnComplete: { age: 600, count: 1_000 },
    removeOnFail: { age: 7 * 86_400 },
    /**
     * One job per symbol: an add while the symbol's job waits is dropped (that job will read
     * the newer state anyway); an add while it runs is kept as the one next job
     * (keepLastIfActive), so a change made after calc-b read the state always gets its view.
     */
    deduplication: { id: `view:${symbol}`, keepLastIfActive: true },
  } as const;
}

/**
 * How long calc-a keeps a tick's dedupe marker: at least as long as the queue may keep, and so
 * replay, the job it came in. Read from the job's own removeOnFail (set by the api from ITS
 * DEDUPE_TTL_S, see tickJobOptions), so an api and consumers configured with different
 * DEDUPE_TTL_S cannot disagree; never less than the consumers' own `fallbackS` (DEDUPE_TTL_S),
 * which is also what a job without a numeric removeOnFail.age gets.
 */
export function tickMarkerTtlS(jobOptions: { removeOnFail?: unknown } | undefined, fallbackS: number): number {
  const removeOnFail = jobOptions?.removeOnFail;
  const age = typeof removeOnFail === 'object' && removeOnFail !== null ? (removeOnFail as { age?: unknown }).age : undefined;
  if (typeof age !== 'number' || !Number.isFinite(age) || age < 0) return fallbackS;
  return Math.max(fallbackS, Math.ceil(age) + REPLAY_MARGIN_S);
}

/**
 * Marks every job id of a tick. BullMQ keeps a job as `<queue prefix><job id>` beside its own
 * keys (`wait`, `meta`, `events`, `id`, `de`, `stalled-check`, …, all lower-case words, `-`
 * and `:`), so a client's id used as it is could name one of them (`event_id: "wait"` turned
 * the enqueue into a WRONGTYPE on the waiting list). No BullMQ key name starts with '@', in
 * this version or any: they are identifiers. (Checked against the pinned version's keys in
 * jobs.spec.ts beside this file.)
 */
export const JOB_ID_MARK = '@';

/**
 * BullMQ job id of a tick: '@' then the event_id with '%' and ':' percent-escaped. One-to-one
 * (the escape is injective and the mark always there), never an integer, never a ':' (both
 * refused by BullMQ as custom ids), so no job id is a key name BullMQ owns, nor another job's
 * sub-key (`<id>:lock`, `<id>:logs`). The one mapping of the api (which enqueues), the tests
 * and tools that look jobs up; the consumers never parse job ids: they read the tick from the
 * job's data. (bench/src/baselines/raw-ingest.ts keeps a copy: the baseline server loads no workspace lib.)
 */
export function jobIdFor(eventId: string): string {
  return `${JOB_ID_MARK}${eventId.replace(/%/g, '%25').replace(/:/g, '%3A')}`;
}
