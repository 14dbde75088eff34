import { InjectQueue } from '@nestjs/bullmq';
import type { ServerResponse } from 'node:http';
import { HttpStatus, Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Queue } from 'bullmq';
import { sleep } from '@md/common';
import { OrchestratorApiEnv } from '@md/config';
import { DomainEvent, TICK_RECEIVED_JSON_HEAD, type ReceivedTick } from '@md/contracts';
import { Coalescer, FieldsException } from '@md/platform';
import {
  CHUNK_MAX_TICKS,
  ClaimResult,
  enqueueInMulti,
  jobIdFor,
  MIXED_CHUNK_WORKER,
  positionsBySymbol,
  tickJobOptions,
  TICKS_QUEUE,
  type MdPipeline,
  type MdRedis,
  type TickChunkJob,
  type TickJobOptions,
} from '@md/pipeline';
import { REDIS, RedisKeys } from '@md/redis';
import { CHUNK_READER_MARK, GROUP as FLUSHERS } from '../flush/flush-buffer';
import { IngestMetrics, type TicksEvent } from './ingest.metrics';
import { readBatch, settleBatch, type SettledBatch, type TickStamp } from './tick-batch';
import type { TickLimits } from './validate-tick-item';

export type TickOutcome =
  | { status: 'accepted' | 'duplicate' }
  | { status: 'unavailable'; reason: string; retryAfterS: number }
  /** Refused for good by a cap (a new symbol past MAX_SYMBOLS): a 4xx naming `field`. */
  | { status: 'refused'; field: string; reason: string };

/** Waits before re-checking an event_id another request is committing right now. */
const PENDING_WAITS_MS = [10, 40, 150, 300];

/** How long a shutdown waits for ingests in flight to finish before the final flush runs. */
const SHUTDOWN_DRAIN_MS = 5_000;

/** Symbols per SADD when seeding the set: bounded argument lists. */
const SEED_CHUNK = 1_000;

/** Commands queued per chunk in the commit MULTI (EXISTS of its job id, its enqueue); then one mdCommit for every tick. */
const COMMANDS_PER_CHUNK = 2;

/** How often the api looks at the tick queue's workers (see refreshWorkers). */
const WORKERS_REFRESH_MS = 5_000;

/**
 * A flusher of the group that interacted with the buffer this recently is live (see
 * refreshFlushers): a live one reads at least every FLUSH_INTERVAL_MS (default 1 s).
 */
const FLUSHER_LIVE_MS = 300_000;

/** A coalesced round starts once it holds this many ticks (two full batches; the request that fills it may bring it to 2,999). */
const ROUND_MAX_TICKS = 2_000;

/** A tick a round did not settle: its event_id is being committed by another request (or round). */
const PENDING = 'pending';
type RoundOutcome = TickOutcome | typeof PENDING;

/** Not stored (Redis did not confirm, or the event_id stayed pending): the request answers 503. */
const NOT_STORED: TickOutcome = {
  status: 'unavailable',
  reason: 'not stored: Redis unavailable or the event_id is being committed by another request; retry',
  retryAfterS: 1,
};

/** A new symbol while MAX_SYMBOLS are known: refused for good (retrying cannot help). */
function symbolCapOutcome(max: number): TickOutcome {
  return { status: 'refused', field: 'symbol', reason: `symbol is new and the limit of ${max} symbols (MAX_SYMBOLS) is reached` };
}

/**
 * The flush buffer holds BUFFER_MAX_TICKS: PostgreSQL is behind. Refused before Redis runs out
 * of memory, so the ticks already accepted stay safe; a retry a few seconds later may pass.
 */
function bufferFullOutcome(max: number): TickOutcome & { status: 'unavailable' } {
  return {
    status: 'unavailable',
    reason: `not stored: the flush buffer holds its limit of ${max} ticks (BUFFER_MAX_TICKS) while PostgreSQL catches up; retry later`,
    retryAfterS: 5,
  };
}

/**
 * The ingest path: dedupe, enqueue, publish — Redis only, never Postgres.
 *
 * Two round trips per round, whatever the batch size; a round holds the ticks of every request
 * that arrived while the event loop was busy (group commit, see `rounds`):
 *  1. mdClaim: SET NX a short lease on each event_id's dedupe key, checking the caps in the
 *     same script: MAX_SYMBOLS (a new symbol past it is refused) and BUFFER_MAX_TICKS (the
 *     flush buffer is full: Postgres is behind; 503 with a reason, nothing trimmed);
 *  2. one MULTI with the round's claimed ticks as BullMQ jobs (CHUNK_MAX_TICKS at most per job, of any symbols,
 *     each symbol's in arrival order; job id from the first one's event_id), then one mdCommit script for every tick: the append to the flush buffer
 *     (one XADD per job's chunk of ticks), the fast-path publish (history stream + PUBLISH) and the dedupe commit (SET
 *     DedupeState.Accepted EX ttl).
 * A tick is accepted exactly when its chunk's enqueue and its chunk's buffer append are confirmed (see
 * commit). If EXEC fails, the leases are dropped and the caller gets 503; a retry with the same
 * event_id is accepted. Concurrent requests for one event_id: one claims, the others wait for
 * its commit and answer `duplicate`.
 */
@Injectable()
export class IngestService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ingest');
  /** Set at shutdown: ingest requests arriving from then on are answered 503 (see admit). */
  private closing = false;
  /** Ingest requests admitted (see admit) and not answered yet. */
  private admitted = 0;
  /** Ingest calls running (see ingest). */
  private ingesting = 0;
  private drained?: () => void;
  private readonly ttlS: number;
  /** STREAM_HISTORY: the history stream's length, as RealtimePublisher keeps it. */
  private readonly historyMax: number;
  private readonly jobOptions: TickJobOptions;
  private readonly maxSymbols: number;
  private readonly bufferMax: number;
  /**
   * How long a claimed event_id stays reserved for the request committing it: longer than
   * the two commands of a commit can take, so a lease never lapses under a live commit.
   */
  private readonly leaseMs: number;
  /** Jobs of several symbols may be made (see refreshWorkers); false until the first look. */
  private mixedChunks = false;
  /** One flush-buffer entry per chunk, rather than per tick (see refreshFlushers). */
  private chunkedEntries = true;
  private workersTimer?: NodeJS.Timeout;
  /** The symbol set seeded from the stored views (see seedSymbols); null until it succeeds. */
  private seeded: Promise<void> | null = null;
  /**
   * Group commit: the ticks of the requests that arrive while the event loop is busy share one
   * claim and one commit MULTI (one job per CHUNK_MAX_TICKS ticks), so a batch stays a batch and concurrent
   * single ticks become one.
   */
  private readonly rounds = new Coalescer<ReceivedTick, RoundOutcome>((ticks) => this.claimAndCommit(ticks), ROUND_MAX_TICKS);

  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    @InjectQueue(TICKS_QUEUE) private readonly queue: Queue,
    private readonly keys: RedisKeys,
    private readonly events: EventEmitter2,
    private readonly metrics: IngestMetrics,
    env: OrchestratorApiEnv,
  ) {
    this.ttlS = env.DEDUPE_TTL_S;
    this.historyMax = env.STREAM_HISTORY;
    this.jobOptions = tickJobOptions(env.DEDUPE_TTL_S);
    this.maxSymbols = env.MAX_SYMBOLS;
    this.bufferMax = env.BUFFER_MAX_TICKS;
    this.leaseMs = Math.max(5_000, 3 * env.REDIS_COMMAND_TIMEOUT_MS);
  }

  onApplicationBootstrap(): void {
    this.seedSymbols().catch(() => undefined); // retried by the first ingest
    void this.refreshWorkers();
    void this.refreshFlushers();
    this.workersTimer = setInterval(() => {
      void this.refreshWorkers();
      void this.refreshFlushers();
    }, WORKERS_REFRESH_MS);
    this.workersTimer.unref();
  }

  /**
   * Whether a round's jobs may mix symbols: only while every worker of the tick queue is a calc-a
   * that reads such jobs (named MIXED_CHUNK_WORKER, @md/pipeline), so a consumer of an older
   * version never gets one (it would apply the whole job to one symbol). No worker, a worker of
   * another name, a Redis without CLIENT LIST, or an error: one symbol per job, which every
   * version reads. Public for the tests, which connect workers and ask again at once.
   */
  async refreshWorkers(): Promise<boolean> {
    const workers = await this.queue.getWorkers().catch(() => []);
    const mixed = workers.length > 0 && workers.every((w) => (w.rawname ?? '').endsWith(`:w:${MIXED_CHUNK_WORKER}`));
    if (mixed !== this.mixedChunks) {
      this.logger.log(
        { workers: workers.length },
        mixed
          ? 'every calc-a reads jobs of several symbols: one job per 100 ticks'
          : 'one job per symbol (a calc-a may be of an older version)',
      );
    }
    this.mixedChunks = mixed;
    return mixed;
  }

  /**
   * Whether a round's ticks go in the flush buffer as one entry per chunk (field `b`): unless a
   * flusher of a version before chunked entries is live in the group (its consumer name without
   * CHUNK_READER_MARK, interacting within FLUSHER_LIVE_MS), which would read such an entry as
   * unreadable and dead-letter its ticks. Then one entry per tick (field `t`), which every version
   * reads, until it is gone: a rolling upgrade loses nothing. No group yet, or no live flusher:
   * chunked. An error (Redis away) keeps the last answer. Public for the tests.
   */
  async refreshFlushers(): Promise<boolean> {
    let consumers: unknown[][];
    try {
      consumers = (await this.redis.xinfo('CONSUMERS', this.keys.buffer(), FLUSHERS)) as unknown[][];
    } catch (error) {
      if ((error as Error).message.includes('NOGROUP') || (error as Error).message.includes('no such key')) this.chunkedEntries = true;
      return this.chunkedEntries;
    }
    const field = (consumer: unknown[], name: string) => consumer[consumer.indexOf(name) + 1];
    const older = consumers.filter(
      (consumer) => Number(field(consumer, 'idle')) < FLUSHER_LIVE_MS && !String(field(consumer, 'name')).endsWith(CHUNK_READER_MARK),
    );
    const chunked = older.length === 0;
    if (chunked !== this.chunkedEntries) {
      this.logger.log(
        { flushers: older.map((consumer) => String(field(consumer, 'name'))) },
        chunked
          ? 'every live flusher reads chunked entries: one buffer entry per chunk'
          : 'a flusher of an older version is live: one buffer entry per tick',
      );
    }
    this.chunkedEntries = chunked;
    return chunked;
  }

  /**
   * Adds every symbol of the stored views to the symbol set MAX_SYMBOLS counts (idempotent
   * SADD), so a set that starts empty (an upgrade, a lost key) still knows the symbols the
   * platform serves. Once per process; a failure is retried by the next ingest, which waits
   * for it: no claim is checked against a set not yet seeded.
   */
  private seedSymbols(): Promise<void> {
    this.seeded ??= (async () => {
      const symbols = await this.redis.hkeys(this.keys.views());
      for (let i = 0; i < symbols.length; i += SEED_CHUNK) await this.redis.sadd(this.keys.symbols(), ...symbols.slice(i, i + SEED_CHUNK));
    })().catch((error: unknown) => {
      this.seeded = null;
      throw error;
    });
    return this.seeded;
  }

  /**
   * Called by IngestAdmission once an ingest request's headers are read, before its body: false
   * once the instance is shutting down (the request is answered 503 at once); otherwise the
   * request is counted until its response is done, and the shutdown waits for it. Counting from
   * then, not from the ingest call, matters under load: a request read before the signal whose
   * body, guard and validation waited for the event loop is served, not refused.
   */
  admit(response: ServerResponse): boolean {
    if (this.closing) return false;
    this.admitted += 1;
    response.once('close', () => {
      this.admitted -= 1;
      this.maybeDrained();
    });
    return true;
  }

  /** The drain ends once no admitted request is open and no ingest is between claim and outcome. */
  private maybeDrained(): void {
    if (this.admitted === 0 && this.ingesting === 0) this.drained?.();
  }

  /**
   * Shutdown, step one (Nest calls every onModuleDestroy before any beforeApplicationShutdown):
   * stop admitting, then wait for the ingest requests admitted. The HTTP server is still open
   * until Nest disposes it, after every hook; a tick accepted after the flusher's final flush
   * would wait in the buffer for the next start. So from here on ingest answers 503 (not stored,
   * retry: the feeder does, against the next instance), and the final flush
   * (FlushService.beforeApplicationShutdown) runs only once every accepted tick is buffered.
   */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    clearInterval(this.workersTimer);
    if (this.admitted === 0 && this.ingesting === 0) return;
    await new Promise<void>((resolve) => {
      this.drained = resolve;
      setTimeout(resolve, SHUTDOWN_DRAIN_MS).unref();
    });
  }

  /**
   * Outcome for each tick, in order. Never throws: failures are `unavailable` outcomes. Counted
   * while it runs: a client that disconnects closes its response, but its commit may still be on
   * its way, and the final flush must wait for it.
   */
  async ingest(ticks: ReceivedTick[]): Promise<TickOutcome[]> {
    this.ingesting += 1;
    try {
      return await this.ingestOpen(ticks);
    } finally {
      this.ingesting -= 1;
      this.maybeDrained();
    }
  }

  private async ingestOpen(ticks: ReceivedTick[]): Promise<TickOutcome[]> {
    const outcomes: (TickOutcome | undefined)[] = new Array(ticks.length);
    // A repeated event_id inside one request shares the fate of its first occurrence.
    const firstIndex = new Map<string, number>();
    const repeats: [number, number][] = [];
    let todo: number[] = [];
    ticks.forEach((tick, i) => {
      const first = firstIndex.get(tick.event_id);
      if (first === undefined) {
        firstIndex.set(tick.event_id, i);
        todo.push(i);
      } else {
        repeats.push([i, first]);
      }
    });

    try {
      await this.seedSymbols();
      for (let round = 0; todo.length > 0 && round <= PENDING_WAITS_MS.length; round++) {
        if (round > 0) await sleep(PENDING_WAITS_MS[round - 1]);
        const settled = await this.rounds.submit(todo.map((i) => ticks[i]));
        todo.forEach((i, k) => (outcomes[i] = settled[k] === PENDING ? undefined : settled[k]));
        todo = todo.filter((_, k) => settled[k] === PENDING);
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'ingest unavailable: Redis did not confirm');
    }

    const final = ticks.map((_, i) => outcomes[i] ?? NOT_STORED);
    for (const [i, first] of repeats) {
      final[i] = final[first].status === 'accepted' ? { status: 'duplicate' } : final[first];
    }
    this.report(ticks, final);
    return final;
  }

  /**
   * One round for the ticks of every request that reached the coalescer in the same turn (see
   * `rounds`): the claim, then the commit of what was claimed. A tick whose event_id another
   * request holds (or an earlier tick of this round: two concurrent requests sent it) comes
   * back PENDING: its request waits and submits it again, so no round ever sleeps.
   */
  private async claimAndCommit(ticks: ReceivedTick[]): Promise<RoundOutcome[]> {
    const outcomes: RoundOutcome[] = new Array(ticks.length).fill(PENDING);
    const seen = new Set<string>();
    const todo = ticks.map((_, i) => i).filter((i) => !seen.has(ticks[i].event_id) && seen.add(ticks[i].event_id));
    const states = await this.redis.mdClaim(
      3 + todo.length,
      this.keys.symbols(),
      this.keys.buffer(),
      this.keys.bufferCounts(),
      ...todo.map((i) => this.keys.dedupe(ticks[i].event_id)),
      this.leaseMs,
      this.maxSymbols,
      this.bufferMax,
      ...todo.map((i) => ticks[i].symbol),
    );
    const claimed = todo.filter((_, k) => states[k] === ClaimResult.Claimed || states[k] === ClaimResult.ClaimedNewSymbol);
    const newSymbols = new Set(todo.filter((_, k) => states[k] === ClaimResult.ClaimedNewSymbol).map((i) => ticks[i].symbol));
    todo.forEach((i, k) => {
      if (states[k] === ClaimResult.Committed) outcomes[i] = { status: 'duplicate' };
      else if (states[k] === ClaimResult.SymbolCap) outcomes[i] = symbolCapOutcome(this.maxSymbols);
      else if (states[k] === ClaimResult.BufferFull) outcomes[i] = bufferFullOutcome(this.bufferMax);
    });
    if (claimed.length > 0) {
      const stored = await this.commit(
        claimed.map((i) => ticks[i]),
        newSymbols,
      );
      claimed.forEach((i, k) => (outcomes[i] = stored[k] ? { status: 'accepted' } : NOT_STORED));
    }
    return outcomes;
  }

  /** Batch items refused by validation (single-tick refusals are counted by the filter). */
  countInvalid(n: number): void {
    this.metrics.count('invalid', n);
  }

  /**
   * POST /ingest/ticks: each item validated on its own, the valid ones stored in one ingest,
   * every invalid one counted. Throws the 400 of a body that is not a batch or holds no valid
   * tick; otherwise resolves to the answer (with a Retry-After when a valid item was not stored).
   */
  async ingestBatch(body: unknown, limits: TickLimits, stamp: TickStamp): Promise<SettledBatch> {
    const read = readBatch(body, limits, stamp);
    if (!('valid' in read)) {
      this.countInvalid(read.invalid);
      throw new FieldsException(HttpStatus.BAD_REQUEST, read.message, read.errors);
    }
    const settled = settleBatch(read, await this.ingest(read.valid.map((v) => v.tick)));
    if (settled.invalid > 0) this.countInvalid(settled.invalid);
    return settled;
  }

  /**
   * One MULTI for the claimed ticks; resolves to whether each tick was stored. The MULTI holds
   * the ticks as BullMQ jobs of CHUNK_MAX_TICKS at most (a TickChunkJob: the ticks grouped by
   * symbol, each symbol's in arrival order; calc-a applies each symbol's in one script call),
   * each preceded by an EXISTS of its job key (see commitClaimed), then one
   * mdCommit for every tick: the append to the flush buffer (one entry per chunk), the fast-path
   * publish and the dedupe commit (one command for the api to build and parse per round, not
   * several per tick). EXEC runs the commands with nothing in between, and aborts as a whole if
   * one cannot be queued; but a runtime error in one command does not undo the others, so each
   * chunk's fate is read from its enqueue and its buffer append (mdCommit answers each chunk's
   * entry id), and a tick not stored gets its dedupe key (and a half-written job, and its chunk's
   * buffer entry) removed so a retry is accepted. (A failed publish alone does not fail the tick: it is queued, and its view will
   * follow from the consumers.)
   */
  private async commit(ticks: ReceivedTick[], newSymbols: Set<string>): Promise<boolean[]> {
    const keys = ticks.map((tick) => this.keys.dedupe(tick.event_id));
    try {
      return await this.commitClaimed(ticks, keys, newSymbols);
    } catch (error) {
      // EXEC never ran (Redis away, or the MULTI could not be built): drop the leases, or they
      // would hold every tick of the round as pending (Redis away: they expire by themselves).
      await this.redis.mdRelease(keys.length, ...keys).catch(() => undefined);
      throw error;
    }
  }

  private async commitClaimed(ticks: ReceivedTick[], keys: string[], newSymbols: Set<string>): Promise<boolean[]> {
    const client = (await this.queue.client) as unknown as MdRedis;
    const multi = client.multi() as MdPipeline;
    // The ticks grouped by symbol, each symbol's in arrival order, then cut into jobs: a job per
    // CHUNK_MAX_TICKS ticks, not per symbol (BullMQ's add, fetch and finish of a job take about 0.3 ms
    // of Redis, what calc-a's script spends on 8 ticks). A symbol's ticks stay together, one script
    // call in calc-a, unless they cross a job's 100-tick boundary.
    const bySymbol = positionsBySymbol(ticks);
    // While a calc-a of an older version may be connected, one symbol per job (see refreshWorkers).
    const cut = (all: number[]) =>
      Array.from({ length: Math.ceil(all.length / CHUNK_MAX_TICKS) }, (_, c) => all.slice(c * CHUNK_MAX_TICKS, (c + 1) * CHUNK_MAX_TICKS));
    const groups = this.mixedChunks ? cut([...bySymbol.values()].flat()) : [...bySymbol.values()].flatMap(cut);
    const chunks = groups.map((members) => {
      // BullMQ answers an add whose id exists with that id, as if it had added it: an old job
      // named after the same first event_id (its dedupe key expired while the queue was that
      // far behind, and the sender resent it) would swallow this chunk. EXISTS just before
      // tells: such a chunk is not stored (503), never silently dropped.
      multi.exists(this.queue.toKey(jobIdFor(ticks[members[0]].event_id)));
      const data: TickChunkJob = { ticks: members.map((k) => ticks[k]) };
      if (!this.mixedChunks) data.symbol = data.ticks[0].symbol;
      return { members, job: enqueueInMulti(this.queue, multi, data, this.jobOptions) };
    });
    // Each chunk's append to the durable buffer the FlushModule writes to Postgres from (one
    // entry per chunk, never trimmed here), each tick's publish and dedupe commit, in one script
    // (see lua/commit.lua), which is told each tick's chunk.
    const chunked = this.chunkedEntries;
    const chunkOf: number[] = new Array(ticks.length);
    chunks.forEach(({ members }, c) => members.forEach((k) => (chunkOf[k] = c + 1)));
    multi.mdCommit(
      3 + ticks.length,
      this.keys.buffer(),
      this.keys.bufferCounts(),
      this.keys.history(),
      ...keys,
      this.keys.channel,
      this.historyMax,
      this.ttlS,
      TICK_RECEIVED_JSON_HEAD,
      chunked ? 'b' : 't',
      ...ticks.flatMap((tick, k) => [chunkOf[k], JSON.stringify(tick)]),
    );
    // Registered here, not at claim: a commit that does not run leaves the set unchanged. Last
    // in the MULTI, so the results above keep their indexes.
    if (newSymbols.size > 0) multi.sadd(this.keys.symbols(), ...newSymbols);
    const results = await multi.exec();
    if (!results) throw new Error('MULTI aborted');
    // Stored = queued (BullMQ's add script reports some failures as negative codes rather
    // than errors) and buffered for Postgres; a failed publish alone does not fail the tick.
    const enqueued = chunks.map((_, c) => {
      const [existsError, existed] = results[COMMANDS_PER_CHUNK * c];
      const [error, result] = results[COMMANDS_PER_CHUNK * c + 1];
      return !existsError && existed === 0 && !error && !(typeof result === 'number' && result < 0);
    });
    // Each chunk's buffer entry id (its ticks' ids, space-separated, with one entry per tick); none
    // when its append failed (mdCommit then wrote nothing of its ticks) or the script did not run.
    const [commitError, commitReply] = results[COMMANDS_PER_CHUNK * chunks.length];
    const committed = commitError ? [] : (commitReply as (string | number)[]);
    const entryId = (c: number) => (typeof committed[c] === 'string' ? (committed[c] as string) : undefined);
    const stored: boolean[] = new Array(ticks.length);
    chunks.forEach(({ members }, c) => {
      for (const k of members) stored[k] = enqueued[c] && entryId(c) !== undefined;
    });
    // A new symbol none of whose ticks was stored is taken out again. (A concurrent request
    // that stored a tick of the same new symbol may lose its entry here: the set then counts
    // one symbol fewer, the same bounded overshoot as the claim race.)
    const unregistered = [...newSymbols].filter((symbol) => !ticks.some((tick, k) => stored[k] && tick.symbol === symbol));
    if (unregistered.length > 0) await this.redis.srem(this.keys.symbols(), ...unregistered).catch(() => undefined);
    if (stored.some((ok) => !ok)) {
      this.logger.error(
        {
          // An error reply, else the first failure mdCommit reports after its ids.
          err: results.find(([e]) => e)?.[0]?.message ?? committed[chunks.length],
          count: stored.filter((ok) => !ok).length,
        },
        'enqueue failed inside EXEC',
      );
      // A retry must be accepted: forget the event_ids, and take back the buffer entries of the
      // chunks whose append ran but whose enqueue failed (or the flusher would store ticks
      // answered 503). A Lua script
      // that fails part-way keeps what it wrote before the error, so a half-written job is
      // removed too (or BullMQ would take the retry's add for an existing job), but only that
      // one (see mdUndoEnqueue). A job written whole stays, and calc-a counts its ticks (a
      // buffer append that fails after its chunk's enqueue succeeded: a runtime error of XADD
      // alone, which the cap on the buffer and Redis's OOM refusal of whole scripts leave
      // practically unreachable; so is an error of mdCommit as a whole, outside its per-command
      // pcalls, which would answer 503 for every tick of the round while their jobs stay).
      // A chunked entry takes its ticks out of the buffer's count; one-tick entries were not counted.
      const appended = chunks.flatMap(({ members }, c) => {
        const ids = entryId(c);
        if (enqueued[c] || ids === undefined) return [];
        return chunked ? [ids, members.length] : ids.split(' ').flatMap((id) => [id, 0]);
      });
      await Promise.all([
        appended.length > 0 ? this.redis.mdBufferRemove(this.keys.buffer(), this.keys.bufferCounts(), '', ...appended) : undefined,
        ...chunks.map(({ members, job }, c) => {
          const failed = members.filter((k) => !stored[k]).map((k) => keys[k]);
          if (failed.length === 0) return undefined;
          return this.redis.mdUndoEnqueue(1 + failed.length, enqueued[c] ? failed[0] : job.key, ...failed, job.data, job.timestamp);
        }),
      ]).catch((error: Error) =>
        // The ticks were answered 503, but their dedupe keys may still say accepted: a retry is then a duplicate.
        this.logger.error(
          { err: error.message, event_ids: ticks.filter((_, k) => !stored[k]).map((t) => t.event_id) },
          'undo after a failed enqueue failed',
        ),
      );
    }
    return stored;
  }

  private report(ticks: ReceivedTick[], outcomes: TickOutcome[]): void {
    const by = (status: TickOutcome['status']) => ticks.filter((_, i) => outcomes[i].status === status);
    const accepted = by('accepted');
    const duplicate = by('duplicate');
    const refused = by('refused').length;
    const bufferFull = outcomes.filter((o) => o.status === 'unavailable' && o.reason === bufferFullOutcome(this.bufferMax).reason).length;
    const unavailable = by('unavailable').length - bufferFull;
    if (accepted.length) this.events.emit(DomainEvent.TicksAccepted, { ticks: accepted } satisfies TicksEvent);
    if (duplicate.length) this.events.emit(DomainEvent.TicksDuplicate, { ticks: duplicate } satisfies TicksEvent);
    if (unavailable) this.metrics.count('unavailable', unavailable);
    if (bufferFull) this.metrics.count('buffer_full', bufferFull);
    if (refused) this.metrics.count('symbol_limit', refused);
  }
}
