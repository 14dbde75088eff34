import { randomBytes } from 'node:crypto';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { FeederEnv } from '@md/config';
import type { Tick } from '@md/contracts';
import { RateSchedule, systemClock, TickGenerator, type Clock } from '@md/market-sim';
import { FEED_TICKS } from './feed.metrics';
import { TickSender } from './sender';

/**
 * The generation loop. Ticks are scheduled by time (tick n is due at start + n/TPS), not by
 * sleeping a fixed interval after each send, so slow answers do not slow the rate while the
 * api keeps up; at most MAX_IN_FLIGHT requests are outstanding (then generation waits, and
 * the rate falls behind rather than the feeder piling up requests). COUNT / DURATION_S end
 * generation; what is in flight is then finished, also on SIGTERM.
 */
@Injectable()
export class FeedService implements OnApplicationShutdown {
  private readonly logger = new Logger('feeder');
  private readonly clock: Clock = systemClock;
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopping = false;
  private progressTimer?: NodeJS.Timeout;
  readonly seed: string;
  /** Resolves when generation has ended and every request has settled. */
  readonly done: Promise<void>;
  private finish!: () => void;
  running = false;

  constructor(
    private readonly env: FeederEnv,
    private readonly sender: TickSender,
    @InjectMetric(FEED_TICKS) private readonly ticks: Counter<string>,
  ) {
    this.seed = env.SEED ?? randomBytes(6).toString('hex');
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  start(): void {
    this.running = true;
    this.logger.log(
      { target: this.sender.target, tps: this.env.TPS, symbols: this.env.SYMBOLS, batch: this.env.BATCH_SIZE, seed: this.seed },
      `feeding ${this.env.COUNT ?? '∞'} ticks at ${this.env.TPS}/s`,
    );
    this.progressTimer = setInterval(() => this.report(), this.env.PROGRESS_INTERVAL_S * 1000);
    this.progressTimer.unref();
    void this.loop()
      .catch((error: Error) => this.logger.error({ err: error.message }, 'feed loop failed'))
      .finally(() => {
        this.running = false;
        if (this.progressTimer) clearInterval(this.progressTimer);
        this.report();
        this.finish();
      });
  }

  /** Stop generating; in-flight requests finish (their retries included). */
  stop(): void {
    this.stopping = true;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stop();
    if (this.running) await this.done;
  }

  private async loop(): Promise<void> {
    const generator = new TickGenerator({ symbols: this.env.SYMBOLS, sources: this.env.SOURCES, seed: this.seed });
    const start = this.clock.now();
    const schedule = new RateSchedule(this.env.TPS, start);
    const limit = this.env.COUNT ?? Number.POSITIVE_INFINITY;
    const until = this.env.DURATION_S ? start + this.env.DURATION_S * 1000 : Number.POSITIVE_INFINITY;
    let generated = 0;

    while (!this.stopping && generated < limit) {
      const now = this.clock.now();
      if (now >= until) break;
      const due = Math.min(schedule.dueBy(now), limit) - generated;
      if (due <= 0) {
        await this.clock.sleep(Math.max(0, schedule.dueAt(generated) - now));
        continue;
      }
      const batch: Tick[] = [];
      for (let k = 0; k < due; k++) {
        batch.push(generator.next(now));
        generated += 1;
        if (batch.length === this.env.BATCH_SIZE || k === due - 1) {
          await this.slot();
          this.dispatch(batch.splice(0));
        }
      }
    }
    await Promise.all(this.inFlight);
  }

  private dispatch(batch: Tick[]): void {
    this.ticks.inc({ outcome: 'sent' }, batch.length);
    this.sender.progress.count('sent', batch.length);
    const request = this.sender.deliver(batch).finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  /** Waits until fewer than MAX_IN_FLIGHT requests are outstanding. */
  private async slot(): Promise<void> {
    while (this.inFlight.size >= this.env.MAX_IN_FLIGHT) await Promise.race(this.inFlight);
  }

  private report(): void {
    this.logger.log({ progress: this.sender.progress.take(Date.now(), this.inFlight.size) }, 'progress');
  }
}
