import { Redis } from 'ioredis';
import fc from 'fast-check';
import { LAST_N, WINDOW_MS, type Tick } from '@md/contracts';
import { buildView, referenceView, viewMismatch, WindowState } from '@md/market-calc';
import { tick } from '@md/market-calc/testing';
import { defineScripts } from '@md/pipeline';
import { dropKeys, isolated, REDIS_URL } from '@md/testing';
import { parseSummary } from '../../src/app/summary';
import { parseCalcAReply } from '../../src/calc-a/calc-a.service';

/**
 * The calc-a Lua script in the real Redis against the reference: the script is a
 * transliteration of WindowState, and this proves the two agree on the data that matters
 * (ties, window edges, late ticks, duplicates, a giant volume leaving a large window).
 */
jest.setTimeout(120_000);

const T0 = Date.UTC(2026, 0, 1);
const prefix = isolated().REDIS_PREFIX;
const redis = defineScripts(new Redis(REDIS_URL));

/** One mdCalcA call: `part`'s ticks applied to the state under `base` (the keys and arguments of calc-a's job). */
function calcA(base: string, part: Tick[]) {
  return redis.mdCalcA(
    4 + part.length,
    `${base}:state`,
    `${base}:last`,
    `${base}:win`,
    `${base}:px`,
    ...part.map((t) => `${base}:dedupe:${t.event_id}`),
    60,
    WINDOW_MS,
    LAST_N,
    WindowState.EXACT_BELOW,
    WindowState.RELATIVE_ERROR,
    ...part.flatMap((t) => [t.event_id, String(t.ts), String(t.price), String(t.volume), t.source]),
  );
}

/** One tick's fields: ts ties and window edges, giant volumes among small ones, zeros. */
const tickRecord = fc.record({
  ts: fc.oneof(
    fc.integer({ min: 0, max: 4 }).map((k) => T0 + 30_000 * k),
    fc.integer({ min: 0, max: 240 }).map((s) => T0 + 1000 * s),
    fc.integer({ min: 0, max: 240_000 }).map((ms) => T0 + ms),
  ),
  price: fc.double({ min: 0.0001, max: 100_000, noNaN: true }),
  volume: fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 10, arbitrary: fc.double({ min: 1e-6, max: 1_000, noNaN: true }) },
    { weight: 1, arbitrary: fc.double({ min: 1e6, max: 1e12, noNaN: true }) },
  ),
  event_id: fc.stringMatching(/^[0-9A-Za-z:~%-]{1,12}$/),
});

let run = 0;
/**
 * Applies the ticks, in order, through the script under fresh keys (or `base`'s), `chunk` ticks
 * per call (the ticks of one job); returns the outcomes of every tick and the last summary.
 */
async function throughScript(ticks: Tick[], base = `${prefix}:run${run++}`, chunk = 1) {
  let last: ReturnType<typeof parseCalcAReply> | undefined;
  const outcomes: string[] = [];
  for (let i = 0; i < ticks.length; i += chunk) {
    const part = ticks.slice(i, i + chunk);
    last = parseCalcAReply(part[0].symbol, await calcA(base, part));
    outcomes.push(...last.outcomes);
  }
  if (!last?.summary) throw new Error('no summary');
  return { outcomes, summary: last.summary };
}

afterAll(async () => {
  await dropKeys(REDIS_URL, prefix);
  await redis.quit();
});

describe('calc-a Lua script (real Redis) against the reference', () => {
  it('forgets the rounding error of a giant volume that has left a large window', async () => {
    const ticks = [
      tick(T0, 250, 1e12, 'giant'),
      ...Array.from({ length: 40 }, (_, i) => tick(T0 + 1000 + 100 * i, 100 + i, 0.001, `a${String(i).padStart(2, '0')}`)),
      tick(T0 + 60_001, 99, 0.001, 'last'),
    ];
    const { summary } = await throughScript(ticks);
    expect(viewMismatch(buildView(summary, 0), referenceView(ticks))).toBeUndefined();
  });

  it('counts a repeated event_id once and reports it as counted before, across calls and inside one chunk', async () => {
    const a = tick(T0, 1, 1, 'a');
    const ticks = [a, tick(T0 + 1, 2, 1, 'b'), a];
    for (const chunk of [1, 3]) {
      const result = await throughScript(ticks, undefined, chunk);
      expect(result.outcomes).toEqual(['c', 'c', 'd']);
      expect(result.summary.tickCount).toBe(2);
    }
  });

  it('leaves the same state whatever the chunks: one tick per call, random chunks, or all in one', async () => {
    const ticks = Array.from({ length: 300 }, (_, i) =>
      tick(T0 + 997 * ((i * 7919) % 300), 100 + ((i * 31) % 17), i % 5 === 0 ? 0 : 0.5 + (i % 3), `e${i}`),
    );
    const arrival = [...ticks, ...ticks.slice(0, 30)];
    const one = await throughScript(arrival, undefined, 1);
    for (const chunk of [7, 64, arrival.length]) {
      const chunked = await throughScript(arrival, undefined, chunk);
      expect(chunked).toEqual(one);
    }
    expect(viewMismatch(buildView(one.summary, 0), referenceView(ticks))).toBeUndefined();
  });

  it('equals the reference over random arrival orders with duplicates', async () => {
    const sets = fc.sample(fc.uniqueArray(tickRecord, { minLength: 1, maxLength: 200, selector: (r) => r.event_id, size: 'max' }), {
      numRuns: 15,
      seed: 20261124,
    });
    for (const [n, records] of sets.entries()) {
      const ticks = records.map((r) => tick(r.ts, r.price, r.volume, r.event_id));
      const arrival = [...ticks, ...ticks.slice(0, 10)].sort(() => Math.random() - 0.5);
      const { summary } = await throughScript(arrival, undefined, 1 + (n % 4) * 20);
      expect(viewMismatch(buildView(summary, 0), referenceView(ticks))).toBeUndefined();
    }
  });
});

describe('calc-a Lua script (real Redis): the bits WindowState leaves', () => {
  /** Through the script in chunks of `chunk`, then through WindowState: the summaries and the recompute counts. */
  async function both(ticks: Tick[], chunk: number) {
    const base = `${prefix}:run${run++}`;
    const { summary } = await throughScript(ticks, base, chunk);
    const state = new WindowState();
    ticks.forEach((t) => state.apply(t));
    return {
      script: { summary, recomputes: Number((await redis.hget(`${base}:state`, 'recomputes')) ?? 0) },
      windowState: { summary: state.summary(), recomputes: state.recomputes },
    };
  }

  it('equal sums, bit for bit, over random sets with giant volumes and duplicates, in chunks', async () => {
    const sets = fc.sample(fc.uniqueArray(tickRecord, { minLength: 1, maxLength: 300, selector: (r) => r.event_id, size: 'max' }), {
      numRuns: 15,
      seed: 20261203,
    });
    for (const [n, records] of sets.entries()) {
      const ticks = records.map((r) => tick(r.ts, r.price, r.volume, r.event_id));
      const { script, windowState } = await both([...ticks, ...ticks.slice(0, 10)], 1 + (n % 4) * 30);
      expect(script).toEqual(windowState);
    }
  });

  it('slides a window of 6,000 ticks 34,000 times with no recompute, bit for bit as WindowState', async () => {
    const ticks = Array.from({ length: 40_000 }, (_, i) =>
      tick(T0 + 10 * i, 100 + Math.sin(i / 50) * 3 + (i % 7) / 100, i === 9_000 ? 5e9 : 0.001 + ((i * 7_919) % 1_000) / 37, `s${i}`),
    );
    const { script, windowState } = await both(ticks, 100);
    expect(script).toEqual(windowState);
    expect(script.recomputes).toBe(0);
  });
});

describe('calc-a Lua script (real Redis): sums written by a calc-a before compensation', () => {
  it('reads them without the stale compensation, whose size joins the error bound', async () => {
    const base = `${prefix}:run${run++}`;
    // A giant volume among small ones: the compensations are not 0.
    const ticks = [
      tick(T0, 250, 1e12, 'giant'),
      ...Array.from({ length: 40 }, (_, i) => tick(T0 + 1000 + 100 * i, 100 + i, 0.001 + i / 7, `a${String(i).padStart(2, '0')}`)),
    ];
    await throughScript(ticks, base, 10);
    const state = `${base}:state`;
    const [volc, verr, count] = (await redis.hmget(state, 'volc', 'verr', 'count')).map(Number);
    expect(volc).not.toBe(0);
    expect(Number(await redis.hget(state, 'cat'))).toBe(count);
    // What a calc-a before compensation writes for a counted tick: the count, its plain sums (here
    // an exact 5), its bounds; never 'volc' or 'cat'.
    await redis.hset(state, 'count', count + 1, 'vol', '5', 'verr', String(verr));
    const summary = parseSummary('X', await redis.mdSummary(state, `${base}:last`, `${base}:win`, `${base}:px`));
    expect(summary?.window.volume).toBe(5);
    // The next call drops the compensation into the bound (or recomputes, if that passes 1e-12 of the sum).
    const before = Number((await redis.hget(state, 'recomputes')) ?? 0);
    await throughScript([tick(T0 + 5_000, 99, 1, 'next')], base);
    const [verrAfter, recomputes] = (await redis.hmget(state, 'verr', 'recomputes')).map(Number);
    expect(verrAfter >= verr + Math.abs(volc) || recomputes === before + 1).toBe(true);
  });
});

/** Every key of one run (state, windows, markers) with its content, named without `base`, to compare runs. */
async function dump(base: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await redis.keys(`${base}:*`)).sort()) {
    const type = await redis.type(key);
    out[key.slice(base.length)] =
      type === 'hash' ? await redis.hgetall(key) : type === 'zset' ? await redis.zrange(key, 0, -1, 'WITHSCORES') : await redis.get(key);
  }
  return out;
}

describe('calc-a Lua script (real Redis): a tick that would make the state non-finite', () => {
  it.each([
    ['price 1e300 × volume 1e10 (the product overflows)', [] as Tick[], tick(T0, 1e300, 1e10, 'huge')],
    ['a second volume of 1e308 (the sum overflows)', [tick(T0, 1, 1e308, 'v1')], tick(T0 + 1, 1, 1e308, 'v2')],
    ['a price of Infinity', [tick(T0, 1, 1, 'ok')], tick(T0 + 1, Number.POSITIVE_INFINITY, 1, 'inf')],
  ])('is refused and changes nothing: %s', async (_name, before, bad) => {
    const base = `${prefix}:run${run++}`;
    if (before.length > 0) await throughScript(before, base);
    const state = await dump(base);
    const reply = await redis.mdCalcA(
      5,
      `${base}:state`,
      `${base}:last`,
      `${base}:win`,
      `${base}:px`,
      `${base}:dedupe:${bad.event_id}`,
      60,
      WINDOW_MS,
      LAST_N,
      WindowState.EXACT_BELOW,
      WindowState.RELATIVE_ERROR,
      ...[bad.event_id, String(bad.ts), String(bad.price), String(bad.volume), bad.source],
    );
    expect(parseCalcAReply(bad.symbol, reply).outcomes).toEqual(['x']);
    expect(await dump(base)).toEqual(state);
    // The symbol's state is still usable: the next ordinary tick is counted as usual.
    const { summary } = await throughScript([tick(T0 + 2, 3, 2, 'next')], base);
    expect(summary.tickCount).toBe(before.length + 1);
    expect(Number.isFinite(summary.window.pv)).toBe(true);
  });

  it('refuses only the bad tick of a chunk: the others are counted', async () => {
    const ticks = [tick(T0, 1, 1, 'ok1'), tick(T0 + 1, Number.POSITIVE_INFINITY, 1, 'inf'), tick(T0 + 2, 2, 1, 'ok2')];
    const { outcomes, summary } = await throughScript(ticks, undefined, 3);
    expect(outcomes).toEqual(['c', 'x', 'c']);
    expect(viewMismatch(buildView(summary, 0), referenceView([ticks[0], ticks[2]]))).toBeUndefined();
  });
});

describe('calc-a Lua script (real Redis): a chunk leaves every key as one call per tick would', () => {
  /**
   * Sends `ticks` in calls of `chunk` under `base`, stopping at the first call Redis fails (as a job would):
   * the outcomes of the calls that succeeded, and the error of the one that failed.
   */
  async function send(base: string, ticks: Tick[], chunk: number): Promise<{ outcomes: string; error?: string }> {
    let outcomes = '';
    for (let i = 0; i < ticks.length; i += chunk) {
      const part = ticks.slice(i, i + chunk);
      try {
        outcomes += String((await calcA(base, part))[0]);
      } catch (error) {
        return { outcomes, error: (error as Error).message };
      }
    }
    return { outcomes };
  }

  /**
   * `before` one per call, then the markers of `forget` dropped (as if they had expired), then `ticks` in one
   * chunk, in chunks of 3, and one per call, each run under its own keys: every key must be the same, byte for
   * byte, and so must every tick's outcome (when a call fails, its error: the ticks of the failed chunk have none).
   */
  async function expectChunksEqualOnePerCall(before: Tick[], forget: string[], ticks: Tick[]): Promise<void> {
    const runs = [];
    for (const chunk of [1, 3, ticks.length]) {
      const base = `${prefix}:run${run++}`;
      await send(base, before, 1);
      if (forget.length > 0) await redis.del(...forget.map((id) => `${base}:dedupe:${id}`));
      const { outcomes, error } = await send(base, ticks, chunk);
      runs.push({ keys: await dump(base), ...(error ? { error } : { outcomes }) });
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  }

  const steps = (from: number, n: number, stepMs: number, id: string) =>
    Array.from({ length: n }, (_, i) =>
      tick(from + stepMs * i, 100 + (i % 7), i % 4 === 0 ? 0 : 1 + (i % 3), `${id}${String(i).padStart(2, '0')}`),
    );

  it.each([
    [
      'ticks of the chunk expire each other (and late ones) from the window',
      steps(T0, 5, 1000, 'b'),
      [
        tick(T0 + 10_000, 1, 2, 'c1'),
        tick(T0 + 65_000, 2, 0, 'c2'),
        tick(T0 + 6_000, 3, 1, 'late'),
        tick(T0 + 70_000, 4, 1, 'c3'),
        tick(T0 + 200_000, 5, 3, 'c4'),
        tick(T0 + 140_001, 6, 1, 'c5'),
      ],
    ],
    [
      'equal ts, ordered by event_id, the newest among them',
      [tick(T0, 1, 1, 'm')],
      [tick(T0, 2, 1, 'z'), tick(T0, 3, 0, 'a'), tick(T0 + 1, 4, 1, 'k'), tick(T0 + 1, 5, 2, 'b'), tick(T0 + 1, 6, 1, 'x')],
    ],
    ['a chunk crossing last-N, out of order', steps(T0, 4, 500, 'b'), steps(T0 + 7_000, 30, -211, 'c')],
    [
      'a non-finite tick and duplicates in the middle of the chunk',
      [tick(T0, 1, 1, 'old')],
      [
        tick(T0 + 1, 2, 1, 'a'),
        tick(T0 + 2, Number.POSITIVE_INFINITY, 1, 'inf'),
        tick(T0 + 3, 3, 1, 'b'),
        tick(T0 + 1, 2, 1, 'a'),
        tick(T0, 1, 1, 'old'),
        tick(T0 + 4, 4, 0, 'c'),
      ],
    ],
    [
      'a large window (running sums) a chunk mostly expires',
      steps(T0, 60, 1000, 'b'),
      [...steps(T0 + 75_000, 8, 7_000, 'c'), tick(T0 + 100_000, 1e9, 1e6, 'giant'), ...steps(T0 + 131_000, 8, 1_000, 'd')],
    ],
  ])('%s', async (_name, before, ticks) => {
    await expectChunksEqualOnePerCall(before, [], ticks);
  });

  it('counts a tick again once its marker expired, back into last-N and the window, trimmed as per tick', async () => {
    // 'back' is the greatest of last-N; it returns with the smallest ts, after a tick that pushes one out
    // (trimming last-N only at the end of the chunk would then drop 'back' instead of that one).
    const before = [...steps(T0, LAST_N, 1000, 'b'), tick(T0 + 50_000, 5, 1, 'back')];
    await expectChunksEqualOnePerCall(
      before,
      ['back'],
      [tick(T0 + 40_000, 6, 1, 'new'), tick(T0 + 1, 5, 1, 'back'), tick(T0 + 2, 7, 2, 'after')],
    );
  });

  // Ingest refuses such a tick; were one to reach the queue, its job would fail, but leave no half-written chunk.
  it('fails a chunk at a tick whose ts is not a number, leaving what the calls up to it left', async () => {
    const ticks = [tick(T0 + 5000, 2, 1, 'a'), tick(Number.NaN, 3, 1, 'bad'), tick(T0 + 6000, 4, 1, 'c')];
    await expectChunksEqualOnePerCall(steps(T0, 3, 1000, 'b'), [], ticks);
  });
});
