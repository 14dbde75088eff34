/** What happened since the last progress line: for the one-line JSON summary every PROGRESS_INTERVAL_S. */
export class Progress {
  private latencies: number[] = [];
  private counts = { sent: 0, accepted: 0, duplicate: 0, rejected: 0, failed: 0, retries: 0 };
  private since: number;

  constructor(now: number) {
    this.since = now;
  }

  count(key: keyof Progress['counts'], n = 1): void {
    this.counts[key] += n;
  }

  ack(ms: number): void {
    this.latencies.push(ms);
  }

  /** The summary of the interval ending at `now`, and a fresh interval. */
  take(now: number, inFlight: number) {
    const seconds = Math.max(0.001, (now - this.since) / 1000);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)].toFixed(2)) : null;
    const line = {
      rate: Number((this.counts.sent / seconds).toFixed(2)),
      ack_p50_ms: pct(50),
      ack_p99_ms: pct(99),
      ...this.counts,
      errors: this.counts.rejected + this.counts.failed,
      in_flight: inFlight,
    };
    this.latencies = [];
    this.counts = { sent: 0, accepted: 0, duplicate: 0, rejected: 0, failed: 0, retries: 0 };
    this.since = now;
    return line;
  }
}
