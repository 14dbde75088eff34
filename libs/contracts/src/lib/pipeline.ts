/**
 * GET /pipeline of orchestrator-api: what is waiting where, for the dashboard's pipeline panel
 * and for operators. A snapshot; nothing here is a guarantee.
 */
export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

export interface FlushStats {
  /** Ticks in the Redis buffer not yet acknowledged as written to Postgres. */
  buffered: number;
  /** The buffer's entries (XLEN): one per ingest chunk of up to 100 ticks (one tick each from an older api). */
  entries: number;
  /** Of the entries, those a flusher has read and not yet committed (the group's pending count). */
  pending: number;
  /** Age of the oldest buffered entry, from its stream id; 0 when the buffer is empty. */
  oldestBufferedAgeMs: number;
  /** Epoch ms of the answering process's last committed flush; absent before its first (or when it does not flush). */
  lastFlushAt?: number;
}

export interface PipelineStats {
  /** By queue name: QUEUE_NAME (ticks.received) and VIEW_QUEUE_NAME (views.compute). */
  queues: Record<string, QueueCounts>;
  flush: FlushStats;
  /** Epoch ms of the snapshot. */
  at: number;
}
