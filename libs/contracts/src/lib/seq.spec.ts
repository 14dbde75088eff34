import fc from 'fast-check';
import { compareSeq, isSeq, previousSeq, SEQ_ZERO } from './seq';

const seqArb = fc.tuple(fc.integer({ min: 0, max: 2 ** 45 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map(([ms, n]) => `${ms}-${n}`);
const asPair = (s: string) => s.split('-').map(BigInt) as [bigint, bigint];

describe('seq', () => {
  it('orders like the (ms, n) pairs Redis orders stream ids by', () => {
    fc.assert(
      fc.property(seqArb, seqArb, (a, b) => {
        const [msA, nA] = asPair(a);
        const [msB, nB] = asPair(b);
        const expected = msA === msB ? (nA === nB ? 0 : nA < nB ? -1 : 1) : msA < msB ? -1 : 1;
        expect(Math.sign(compareSeq(a, b))).toBe(expected);
      }),
    );
  });

  it('orders an ms part with leading zeros (a client-sent id) by its value', () => {
    expect(compareSeq('007-1', '7-1')).toBe(0);
    expect(Math.sign(compareSeq('007-2', '7-1'))).toBe(1);
    expect(Math.sign(compareSeq('0010-0', '9-5'))).toBe(1);
    expect(Math.sign(compareSeq('0-5', '00-6'))).toBe(-1);
  });

  it('has no seq between a seq and its predecessor', () => {
    fc.assert(
      fc.property(
        seqArb.filter((s) => s !== SEQ_ZERO),
        (s) => {
          const before = previousSeq(s);
          expect(isSeq(before)).toBe(true);
          expect(compareSeq(before, s)).toBeLessThan(0);
          const [ms, n] = asPair(s);
          const [msP, nP] = asPair(before);
          // Adjacent: same ms and n-1, or the previous ms at the largest n.
          expect(msP === ms ? nP === n - 1n : msP === ms - 1n && nP === 2n ** 64n - 1n).toBe(true);
        },
      ),
    );
    expect(previousSeq('5-0')).toBe('4-18446744073709551615');
    expect(previousSeq(SEQ_ZERO)).toBe(SEQ_ZERO);
  });

  it('accepts only "<ms>-<n>"', () => {
    for (const good of ['0-0', '1700000000000-12']) expect(isSeq(good)).toBe(true);
    for (const bad of ['', '12', '1-', '-1', '1-2-3', 'a-1', '1-1 ', ' 1-1', '$', '+', '1.5-2']) expect(isSeq(bad)).toBe(false);
  });
});
