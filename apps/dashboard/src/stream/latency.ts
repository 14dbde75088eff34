export interface LatencySummary {
  p50?: number;
  p95?: number;
  count: number;
}

/**
 * Latencies over a sliding window (the last minute by default), measured in the browser: from
 * the api's receipt of a tick (`receivedAt`) to the frame that puts it on screen. Both clocks
 * are wall clocks, so a skew between the api's host and the browser's shows up as an offset.
 */
export class LatencyWindow {
  private at: number[] = [];
  private ms: number[] = [];

  constructor(
    private readonly windowMs = 60_000,
    private readonly maxSamples = 20_000,
  ) {}

  add(latencyMs: number, now: number): void {
    if (!Number.isFinite(latencyMs)) return;
    this.at.push(now);
    this.ms.push(Math.max(0, latencyMs));
    if (this.at.length > this.maxSamples) this.drop(this.at.length - this.maxSamples);
  }

  /** Nearest-rank p50 and p95 of the samples younger than the window. */
  summary(now: number): LatencySummary {
    let old = 0;
    while (old < this.at.length && this.at[old] < now - this.windowMs) old += 1;
    if (old > 0) this.drop(old);
    if (this.ms.length === 0) return { count: 0 };
    const sorted = [...this.ms].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), count: sorted.length };
  }

  private drop(n: number): void {
    this.at.splice(0, n);
    this.ms.splice(0, n);
  }
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
