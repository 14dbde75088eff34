import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { backoffMs, sleep } from '@md/common';
import { OrchestratorApiEnv } from '@md/config';
import type { FlushStats } from '@md/contracts';
import { BatchWriter, type Written } from './batch-writer';
import { FlushBuffer } from './flush-buffer';
import { FlushMetrics } from './flush.metrics';
import type { BufferedTick } from './tick-rows';

const POLL_MS = 50;
/** Delay after the n-th failed flush in a row: 200 ms, doubled per failure, at most 5 s (from the 6th). */
const RETRY = { baseMs: 100, maxMs: 5_000 };
const GROUP_RETRY_MS = 500;
/** The final flush at SIGTERM gives up after this long; what is left waits in the buffer for the next flusher. */
const FINAL_FLUSH_MS = 10_000;

/**
 * FlushModule: moves accepted ticks from the Redis buffer (a stream, read through the
 * consumer group `flushers`: FlushBuffer) to Postgres (BatchWriter). Never on the ingest path.
 * This is the loop: when to flush, backoff, and the final flush at shutdown.
 *
 * A batch is written in ONE transaction and acknowledged (XACK + XDEL) only after COMMIT. Hence:
 *  - a flusher that dies before COMMIT leaves its batch pending in the group, under its own
 *    consumer name (one per process): any flusher, a replica or the restarted process,
 *    claims it once it has been idle FLUSH_CLAIM_IDLE_MS (XAUTOCLAIM);
 *  - a flusher that dies between COMMIT and acknowledgement causes a re-write that the
 *    primary key turns into a no-op;
 *  - several replicas share the stream through the group: each entry goes to one of them.
 * Postgres away: nothing is acknowledged, the buffer holds, flushes retry with backoff.
 */
@Injectable()
export class FlushService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('flush');
  private running = false;
  private loop?: Promise<void>;
  private failures = 0;
  private observing?: Promise<void>;
  lastError?: string;
  lastFlushAt?: number;

  constructor(
    private readonly buffer: FlushBuffer,
    private readonly writer: BatchWriter,
    private readonly metrics: FlushMetrics,
    private readonly env: OrchestratorApiEnv,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.env.FLUSH_ENABLED) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * SIGTERM: stop the loop, then a final flush of what is buffered (bounded in time). Here and
   * not in onModuleDestroy: Nest runs every onModuleDestroy first, and IngestService's stops
   * accepting and waits for the ingests in flight, so every accepted tick is buffered by now.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.loop;
    // The loop may have stopped before it could create the group (Redis away since boot).
    await this.buffer.createGroup().catch(() => undefined);
    const until = Date.now() + FINAL_FLUSH_MS;
    while (Date.now() < until) {
      const flushed = await this.flushOnce().catch(() => -1);
      if (flushed <= 0) break;
    }
  }

  private async run(): Promise<void> {
    await this.ensureGroup();
    let last = Date.now();
    while (this.running) {
      await sleep(POLL_MS);
      const waiting = await this.buffer.depth().catch(() => 0);
      if (Date.now() - last < this.env.FLUSH_INTERVAL_MS && waiting < this.env.FLUSH_MAX_BATCH) continue;
      last = Date.now();
      try {
        await this.drain();
        this.failures = 0;
        this.lastError = undefined;
      } catch (error) {
        this.failures += 1;
        this.metrics.failures.inc();
        this.lastError = (error as Error).message;
        // Redis lost the stream and its group (a restart without persistence): recreate them.
        if (this.lastError.includes('NOGROUP')) await this.ensureGroup();
        if (this.failures === 1 || this.failures % 20 === 0)
          this.logger.warn({ err: this.lastError, failures: this.failures }, 'flush failed; retrying');
        await sleep(backoffMs(this.failures, RETRY));
      }
    }
  }

  /** Until Redis answers (or shutdown): the loop cannot read before the group exists. */
  private async ensureGroup(): Promise<void> {
    while (this.running) {
      try {
        await this.buffer.createGroup();
        return;
      } catch {
        await sleep(GROUP_RETRY_MS);
      }
    }
  }

  /**
   * One batch: this consumer's own unacknowledged entries first (a flush that failed), then
   * entries a dead flusher left (idle past FLUSH_CLAIM_IDLE_MS), then new ones. Resolves to
   * the number of entries handled.
   */
  async flushOnce(): Promise<number> {
    const started = performance.now();
    return this.commitBatch(await this.buffer.read(), started);
  }

  /** GET /pipeline's view of the buffer, with this process's last committed flush. */
  async bufferStats(): Promise<FlushStats> {
    return { ...(await this.buffer.stats()), lastFlushAt: this.lastFlushAt };
  }

  /**
   * Flushes batches for as long as they come back full, so a backlog (after an outage, or
   * above FLUSH_MAX_BATCH per interval) drains at full speed. Redis and Postgres then work at
   * the same time: the next batch is read and parsed while this one is written, and a batch's
   * acknowledgement (XACK + XDEL) runs while the next one is written (bench: doc/performance.md).
   * Each batch is still acknowledged only after its own COMMIT, one acknowledgement at a time,
   * and the drain returns only once the last has ended. After a failure, batches read and not
   * acknowledged stay pending for this consumer, and the next flush takes them first (read: own
   * pending entries first).
   */
  private async drain(): Promise<void> {
    let started = performance.now();
    let entries = await this.buffer.read();
    let acknowledging: Promise<void> = Promise.resolve();
    try {
      for (;;) {
        // This consumer's pending entries are the batch in hand: the next read takes only
        // abandoned and new ones. Marked handled at once: it may fail while the write runs.
        const nextStarted = performance.now();
        const next = entries.length >= this.env.FLUSH_MAX_BATCH && this.running ? this.buffer.read(false) : undefined;
        next?.catch(() => undefined);
        try {
          this.observe();
          if (entries.length > 0) {
            const written = await this.writer.write(entries);
            await acknowledging;
            acknowledging = this.acknowledge(entries, written, started);
            acknowledging.catch(() => undefined); // awaited at the next batch, or below
          }
        } finally {
          // A failed read surfaces below, or (after a failed write) with the next flush.
          await next?.catch(() => undefined);
        }
        if (!next || !this.running) return;
        entries = await next;
        started = nextStarted;
      }
    } finally {
      await acknowledging;
    }
  }

  /** Writes a batch (read since `started`) in one transaction, then acknowledges it; resolves to its size. */
  private async commitBatch(entries: BufferedTick[], started: number): Promise<number> {
    this.observe();
    if (entries.length === 0) return 0;
    await this.acknowledge(entries, await this.writer.write(entries), started);
    return entries.length;
  }

  /** After the batch's COMMIT: acknowledges it, then counts it. */
  private async acknowledge(entries: BufferedTick[], written: Written, started: number): Promise<void> {
    await this.buffer.acknowledge(entries);
    this.lastFlushAt = Date.now();
    const { rows, batchSize, duration } = this.metrics;
    batchSize.observe(entries.length);
    duration.observe((performance.now() - started) / 1000);
    rows.inc({ result: 'written' }, written.inserted);
    rows.inc({ result: 'existing' }, written.existing);
    if (written.deadLetters) rows.inc({ result: 'dead_letter' }, written.deadLetters);
    if (written.expired) rows.inc({ result: 'expired' }, written.expired);
  }

  /** The buffer's depth and age gauges, at every flush; beside the write, never in its way (one reading at a time). */
  private observe(): void {
    if (this.observing) return;
    this.observing = this.buffer
      .observe()
      .catch(() => undefined) // the gauges keep their last value; the flush itself reports Redis failures
      .finally(() => (this.observing = undefined));
  }
}
