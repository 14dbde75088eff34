import { parseCalcAReply } from './calc-a.service';

describe('parseCalcAReply', () => {
  it('decodes the script reply without losing precision', () => {
    const reply = [
      '1',
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
    expect(parseCalcAReply('EURUSD', reply)).toEqual({
      fresh: true,
      summary: {
        symbol: 'EURUSD',
        tickCount: 7,
        newest: { ts: 1767225600000, eventId: 'e7', price: 0.1, source: 'venue' },
        last10: [0.25, 0.5, 0.1],
        window: { count: 4, volume: 3.3, pv: 1.5, high: 0.5, low: 0.1, open: 0.25 },
      },
    });
  });

  it('marks a tick counted before as not fresh', () => {
    expect(parseCalcAReply('X', ['0', 1, '1', 'a', '1', 's', '0', '0', 1, '1', '1', '1', '1']).fresh).toBe(false);
  });
});
