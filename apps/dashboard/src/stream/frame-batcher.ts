/** Schedules a callback for the next frame; returns nothing useful. */
export type FrameScheduler = (callback: () => void) => void;

/**
 * Requests the next animation frame, with a timer as a backstop: a hidden tab gets no frames,
 * and its messages must still be applied (at least every `backstopMs`) instead of piling up.
 */
export function animationFrame(backstopMs = 500): FrameScheduler {
  return (callback) => {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      callback();
    };
    if (typeof requestAnimationFrame === 'function') requestAnimationFrame(once);
    setTimeout(once, backstopMs);
  };
}

/**
 * Collects items (stream messages) and hands them over together once per frame, in arrival
 * order: the screen is updated at most once a frame however fast messages come.
 */
export class FrameBatcher<T> {
  private pending: T[] = [];
  private scheduled = false;

  constructor(
    private readonly apply: (items: T[]) => void,
    private readonly schedule: FrameScheduler = animationFrame(),
  ) {}

  push(item: T): void {
    this.pending.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  /** Applies what is pending now (the frame callback; also on teardown). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    this.apply(items);
  }
}
