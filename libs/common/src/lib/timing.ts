/**
 * The waits of every process (browser included: no Node imports here): one `sleep`, and one
 * retry delay formula, so every reconnect, retry and poll in the platform backs off alike.
 */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Backoff {
  /** Delay of the first retry (attempt 0), doubled per attempt. */
  baseMs: number;
  /** The delay never exceeds this. */
  maxMs: number;
  /**
   * Spread of the delay, so that clients that failed together do not retry together:
   * `none` the exact delay; `half` a random delay in [½, 1] of it; `full` in [0, 1] of it
   * ("full jitter").
   */
  jitter?: 'none' | 'half' | 'full';
  /** Source of randomness (tests pass a fixed one). */
  random?: () => number;
}

/** Exponential backoff: `min(maxMs, baseMs × 2^attempt)`, spread by `jitter`. `attempt` counts from 0. */
export function backoffMs(attempt: number, { baseMs, maxMs, jitter = 'none', random = Math.random }: Backoff): number {
  // Capped exponent: 2^attempt stays finite whatever the attempt count.
  const exact = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  if (jitter === 'half') return exact * (0.5 + random() / 2);
  if (jitter === 'full') return exact * random();
  return exact;
}
