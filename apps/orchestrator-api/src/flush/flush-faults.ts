import type { Provider } from '@nestjs/common';
import { OrchestratorApiEnv } from '@md/config';

/**
 * The two moments of a batch's transaction the durability tests stop the process at (FLUSH_FAULT,
 * a test hook: never set it). BatchWriter calls them around its COMMIT; outside those tests
 * they do nothing, and the fault code lives here, not in the writer.
 */
export interface FlushFaults {
  /** The batch is written, not committed: it must stay pending and be claimed by another flusher. */
  beforeCommit(): void;
  /** Committed, not acknowledged: the batch is written again, and the primary key makes that a no-op. */
  afterCommit(): void;
}

export const FLUSH_FAULTS = Symbol('FLUSH_FAULTS');

const none: FlushFaults = { beforeCommit: () => undefined, afterCommit: () => undefined };

/** SIGKILL: nothing runs after it (no shutdown hook, no final flush), as in a crash. */
const sigkill = () => process.kill(process.pid, 'SIGKILL');

/** The hooks for a FLUSH_FAULT value: `crash-before-commit` / `crash-after-commit` kill the process at that point. */
export function flushFaults(fault: OrchestratorApiEnv['FLUSH_FAULT'], kill: () => void = sigkill): FlushFaults {
  if (fault === 'crash-before-commit') return { ...none, beforeCommit: kill };
  if (fault === 'crash-after-commit') return { ...none, afterCommit: kill };
  return none;
}

export const flushFaultsProvider: Provider = {
  provide: FLUSH_FAULTS,
  inject: [OrchestratorApiEnv],
  useFactory: (env: OrchestratorApiEnv) => flushFaults(env.FLUSH_FAULT),
};
