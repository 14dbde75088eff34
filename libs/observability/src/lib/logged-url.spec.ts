import { loggedUrl } from './observability.module';

describe('loggedUrl', () => {
  it('redacts every stream token in the query string and keeps the rest', () => {
    expect(loggedUrl('/stream?symbols=BTCUSDT&token=abc.def.ghi&maxHz=2')).toBe('/stream?symbols=BTCUSDT&token=[redacted]&maxHz=2');
    expect(loggedUrl('/ws?token=a.b.c')).toBe('/ws?token=[redacted]');
    expect(loggedUrl('/stream?mytoken=x&token=y&token=z')).toBe('/stream?mytoken=x&token=[redacted]&token=[redacted]');
    expect(loggedUrl('/symbols/BTCUSDT')).toBe('/symbols/BTCUSDT');
    expect(loggedUrl(undefined)).toBeUndefined();
  });
});
