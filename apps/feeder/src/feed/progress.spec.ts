import { Progress } from './progress';

describe('Progress', () => {
  it('summarises an interval: rate, ack percentiles, counts, then starts afresh', () => {
    const progress = new Progress(0);
    for (let ms = 1; ms <= 100; ms++) progress.ack(ms);
    progress.count('sent', 200);
    progress.count('accepted', 190);
    progress.count('duplicate', 5);
    progress.count('failed', 2);
    progress.count('rejected', 3);

    expect(progress.take(10_000, 4)).toEqual({
      rate: 20,
      ack_p50_ms: 50,
      ack_p99_ms: 99,
      sent: 200,
      accepted: 190,
      duplicate: 5,
      rejected: 3,
      failed: 2,
      retries: 0,
      errors: 5,
      in_flight: 4,
    });
    expect(progress.take(20_000, 0)).toMatchObject({ rate: 0, ack_p50_ms: null, ack_p99_ms: null, sent: 0 });
  });
});
