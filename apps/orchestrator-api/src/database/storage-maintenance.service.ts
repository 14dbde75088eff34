import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { OrchestratorApiEnv } from '@md/config';
import { DatabaseService } from './database.service';
import { retentionHorizon } from './partitions';
import { STORAGE_FAILURES, STORAGE_PARTITIONS, STORAGE_PARTITIONS_DROPPED } from './storage.metrics';
import { maintainStorage, type MaintenanceResult } from './storage-maintenance';

/** How often a flushing api runs maintenance (creating ahead and retention are day-sized: hourly is plenty). */
const INTERVAL_MS = 3_600_000;

/**
 * Keeps md_ticks' partitions ahead of the ticks and behind RETENTION_DAYS (storage-maintenance.ts).
 * Runs in flushing apis only: at start, hourly, and (creating only) before a flush that needs a partition (`cover`).
 */
@Injectable()
export class StorageMaintenanceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('storage');
  private timer?: NodeJS.Timeout;
  /** The pass under way, per kind (create only, full): single-flight each. */
  private readonly running = new Map<boolean, Promise<MaintenanceResult>>();
  /** Partitions exist for ticks with ts in [coveredFrom, coveredUntil) (as of the last pass). */
  coveredFrom = -Infinity;
  private coveredUntil = -Infinity;

  constructor(
    private readonly database: DatabaseService,
    private readonly env: OrchestratorApiEnv,
    @InjectMetric(STORAGE_PARTITIONS_DROPPED)
    private readonly droppedTotal: Counter<string>,
    @InjectMetric(STORAGE_FAILURES) private readonly failures: Counter<string>,
    @InjectMetric(STORAGE_PARTITIONS)
    private readonly partitions: Gauge<string>,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.env.FLUSH_ENABLED) return;
    this.timer = setInterval(() => void this.run(false).catch(() => undefined), INTERVAL_MS);
    this.timer.unref();
    // Retention once at start too (the flush path only creates): in the background, skipped
    // when another replica's pass holds the lock.
    void this.run(false).catch(() => undefined);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Ticks before this are past retention: the flusher counts them as expired and writes nothing. */
  horizon(now = Date.now()): number | undefined {
    return retentionHorizon(this.env.RETENTION_DAYS, now);
  }

  /**
   * Before a flush: makes sure partitions exist up to the batch's newest tick `newest` (runs a
   * create-only pass, waiting for another replica's, when the last one did not reach it). Cheap
   * when they do. Retention stays in the periodic pass: the flush never waits for it. `force`: a
   * pass even so (a partition inside the covered range is missing: dropped by hand).
   */
  async cover(newest: number, force = false): Promise<MaintenanceResult | undefined> {
    if (newest < this.coveredUntil && !force) return undefined;
    return this.run(true, false);
  }

  /**
   * One pass now (single-flight in this process). `wait`: for the lock if another replica holds
   * it. `retention` false: create partitions only.
   */
  run(wait = true, retention = true): Promise<MaintenanceResult> {
    const running =
      this.running.get(retention) ??
      (async () => {
        try {
          await this.database.connected();
          const result = await maintainStorage(this.database.dataSource, this.env, wait, Date.now(), retention);
          if (!result.ran) return result;
          this.coveredFrom = result.coveredFrom;
          this.coveredUntil = result.coveredUntil;
          this.droppedTotal.inc(result.dropped.length);
          if (result.createError) {
            this.failures.inc();
            this.logger.warn({ err: result.createError }, 'a partition could not be created');
          }
          if (result.retentionError) {
            this.failures.inc();
            this.logger.warn({ err: result.retentionError }, 'retention did not complete; the next pass retries');
          }
          const [{ n }] = (await this.database.dataSource.query(
            `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'md_ticks'::regclass`,
          )) as [{ n: number }];
          this.partitions.set(n);
          if (result.created.length || result.dropped.length || result.deadLetters || result.candles1m) {
            this.logger.log({ ...result }, 'storage maintenance');
          }
          return result;
        } catch (error) {
          this.failures.inc();
          this.logger.warn(
            { err: (error as Error).message },
            'storage maintenance failed; retried before the next flush that needs it, and hourly',
          );
          throw error;
        } finally {
          this.running.delete(retention);
        }
      })();
    this.running.set(retention, running);
    return running;
  }
}
