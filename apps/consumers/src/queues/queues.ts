import type { ConsumersEnv } from '@md/config';

/** Worker options from the validated env (never from process.env in a decorator). */
export function workerOptions(env: ConsumersEnv, concurrency: number) {
  return { concurrency, lockDuration: env.WORKER_LOCK_MS, stalledInterval: env.WORKER_LOCK_MS };
}
