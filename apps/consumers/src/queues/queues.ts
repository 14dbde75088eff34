import type { ConsumersEnv } from '@md/config';
import type { WindowSummary } from '@md/market-calc';

/** Injection token of calc-b's queue (calc-a adds to it), whatever its name in Redis (from env). */
export const VIEWS_QUEUE = Symbol('VIEWS_QUEUE');

/** calc-a → calc-b. */
export interface ViewJob {
  summary: WindowSummary;
  receivedAt?: number;
  traceId?: string;
}

export const VIEW_JOB_OPTIONS = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 200 },
  removeOnComplete: { age: 600, count: 10_000 },
  removeOnFail: { age: 7 * 86_400 },
} as const;

/** Worker options from the validated env (never from process.env in a decorator). */
export function workerOptions(env: ConsumersEnv, concurrency: number) {
  return { concurrency, lockDuration: env.WORKER_LOCK_MS, stalledInterval: env.WORKER_LOCK_MS };
}
