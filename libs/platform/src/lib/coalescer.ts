/**
 * Group commit: the items that several callers submit while the event loop is busy go to `run`
 * together, once the loop reaches its check phase (setImmediate), or at once when they reach
 * `maxItems`; each caller gets its own slice of the results, in order. Under load, the
 * requests a poll phase read become one round of work (one Redis round trip, one HTTP post)
 * instead of one each; alone, a caller waits for nothing but the rest of the current turn.
 *
 * `run` must return one result per item, in order. If it throws, every caller of that round
 * gets the error.
 */
export class Coalescer<T, R> {
  private waiting: { items: T[]; resolve: (results: R[]) => void; reject: (error: unknown) => void }[] = [];
  private count = 0;

  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly maxItems: number,
  ) {}

  submit(items: T[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ items, resolve, reject });
      this.count += items.length;
      if (this.count >= this.maxItems) this.flush();
    });
  }

  private flush(): void {
    const round = this.waiting;
    if (round.length === 0) return;
    this.waiting = [];
    this.count = 0;
    const items = round.length === 1 ? round[0].items : round.flatMap((caller) => caller.items);
    // A synchronous throw of `run` becomes a rejection like any other.
    Promise.resolve()
      .then(() => this.run(items))
      .then((results) => {
        if (results.length !== items.length) throw new Error(`coalesced run returned ${results.length} results for ${items.length} items`);
        let at = 0;
        for (const caller of round) {
          caller.resolve(results.slice(at, at + caller.items.length));
          at += caller.items.length;
        }
      })
      .catch((error: unknown) => round.forEach((caller) => caller.reject(error)));
  }
}
