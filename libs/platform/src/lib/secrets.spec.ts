import { parseBasicAuth, secretEquals } from './secrets';

const basic = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

describe('secretEquals', () => {
  it('is true only for the same secret', () => {
    expect(secretEquals('s3cret-password', 's3cret-password')).toBe(true);
    expect(secretEquals('s3cret-passworD', 's3cret-password')).toBe(false);
  });

  it('compares secrets of different lengths without throwing', () => {
    expect(secretEquals('', 's3cret-password')).toBe(false);
    expect(secretEquals('s3cret-password-and-more', 's3cret-password')).toBe(false);
  });
});

describe('parseBasicAuth', () => {
  it('splits at the first colon, so passwords may contain colons', () => {
    expect(parseBasicAuth(basic('feeder:pa:ss'))).toEqual({ user: 'feeder', password: 'pa:ss' });
  });

  it('accepts the scheme in any case', () => {
    expect(parseBasicAuth(basic('a:b').replace('Basic', 'basic'))).toEqual({ user: 'a', password: 'b' });
  });

  it.each([
    ['no header', undefined],
    ['another scheme', 'Bearer abc'],
    ['no colon', basic('feeder')],
    ['not base64', 'Basic ***'],
    ['an oversized header', `Basic ${'A'.repeat(2000)}`],
  ])('refuses %s', (_name, header) => {
    expect(parseBasicAuth(header)).toBeUndefined();
  });
});
