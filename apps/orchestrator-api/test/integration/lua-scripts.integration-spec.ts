import { Redis } from 'ioredis';
import { ClaimResult, DedupeState, defineScripts, luaScripts } from '@md/pipeline';
import { dropKeys, isolated, REDIS_URL } from '@md/testing';

/**
 * Every script of the registry against the real Redis: SCRIPT LOAD compiles it (a syntax error
 * fails here, not at the first tick in production), and the dedupe states that the ingest
 * scripts and calc-a hand each other through one key are the ones DedupeState names.
 */
const prefix = isolated().REDIS_PREFIX;
const redis = defineScripts(new Redis(REDIS_URL));

afterAll(async () => {
  await dropKeys(REDIS_URL, prefix);
  await redis.quit();
});

describe('the Lua scripts in Redis', () => {
  it.each(Object.entries(luaScripts()))('%s compiles (SCRIPT LOAD)', async (_, { lua }) => {
    expect(await redis.script('LOAD', lua)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('claim, commit, release and calc-a agree on the dedupe states', async () => {
    const [symbols, buffer, a, b, c] = ['symbols', 'buffer', 'dedupe:a', 'dedupe:b', 'dedupe:c'].map((k) => `${prefix}:${k}`);
    const claim = (...keys: string[]) => redis.mdClaim(2 + keys.length, symbols, buffer, ...keys, 5_000, 10, 10, ...keys.map(() => 'SYM'));

    expect(await claim(a, b)).toEqual([ClaimResult.ClaimedNewSymbol, ClaimResult.ClaimedNewSymbol]);
    expect(await redis.get(a)).toBe(DedupeState.Pending);
    expect(await claim(a)).toEqual([ClaimResult.Pending]);

    // The ingest commits a; b's commit fails and is released; release never drops a committed key.
    await redis.set(a, DedupeState.Accepted);
    expect(await redis.mdRelease(2, a, b)).toBe(0);
    expect([await redis.get(a), await redis.exists(b)]).toEqual([DedupeState.Accepted, 0]);
    expect(await claim(a)).toEqual([ClaimResult.Committed]);

    // calc-a counts an accepted tick once, then reads it as counted; the claim still sees it committed.
    const calc = (key: string) =>
      redis.mdCalcA(
        5,
        `${prefix}:st`,
        `${prefix}:last`,
        `${prefix}:win`,
        `${prefix}:px`,
        key,
        60,
        60_000,
        10,
        32,
        1e-9,
        'a',
        '1000',
        '1.5',
        '2',
        'src',
      );
    expect((await calc(a))[0]).toBe('c');
    expect(await redis.get(a)).toBe(DedupeState.Counted);
    expect((await calc(a))[0]).toBe('d');
    expect(await claim(a)).toEqual([ClaimResult.Committed]);

    // A lease whose commit never ran is dropped.
    await redis.set(c, DedupeState.Pending);
    expect(await redis.mdRelease(1, c)).toBe(0);
    expect(await redis.exists(c)).toBe(0);
  });
});
