import { parseSummary } from '../app/summary';
import { CountResult } from '@md/pipeline';
import { parseCalcAReply } from './calc-a.service';

const SUMMARY = [
  7,
  '1767225600000',
  'e7',
  '0.10000000000000001',
  'venue',
  '3.2999999999999998',
  '1.5',
  4,
  '0.5',
  '0.10000000000000001',
  '0.25',
  '0.25',
  '0.5',
  '0.10000000000000001',
];

describe('parseCalcAReply', () => {
  it('decodes the outcome of each tick, then the summary without losing precision', () => {
    expect(parseCalcAReply('EURUSD', ['cdx', ...SUMMARY])).toEqual({
      outcomes: [CountResult.Counted, CountResult.CountedBefore, CountResult.Refused],
      summary: {
        symbol: 'EURUSD',
        tickCount: 7,
        newest: { ts: 1767225600000, eventId: 'e7', price: 0.1, source: 'venue' },
        last10: [0.25, 0.5, 0.1],
        window: { count: 4, volume: 3.3, pv: 1.5, high: 0.5, low: 0.1, open: 0.25 },
      },
    });
  });

  it('has no summary when no tick of the symbol was ever counted (a chunk of refused ticks)', () => {
    expect(parseCalcAReply('X', ['xx'])).toEqual({ outcomes: ['x', 'x'], summary: null });
  });
});

describe('parseSummary', () => {
  it('reads the same layout as calc-a, and null for a symbol with no state', () => {
    expect(parseSummary('EURUSD', SUMMARY)).toEqual(parseCalcAReply('EURUSD', ['c', ...SUMMARY]).summary);
    expect(parseSummary('EURUSD', [])).toBeNull();
  });
});
