import { BasicAuthMatcher, parseBasicAuth, SecretMatcher, secretEquals } from './secrets';

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

describe('SecretMatcher', () => {
  const key = new SecretMatcher('s3cret-password');

  it('matches only the secret itself, as a string', () => {
    expect(key.matches('s3cret-password')).toBe(true);
    for (const other of ['s3cret-passworD', 's3cret-password ', '', undefined, ['s3cret-password'], 42])
      expect(key.matches(other)).toBe(false);
  });

  it('never matches an empty presented secret', () => {
    expect(new SecretMatcher('').matches('')).toBe(false);
  });
});

describe('BasicAuthMatcher', () => {
  const credentials = new BasicAuthMatcher('feeder', 'pa:ss-word');

  it('matches the user and password, and nothing else', () => {
    expect(credentials.matches(basic('feeder:pa:ss-word'))).toBe(true);
    for (const header of [basic('feeder:pa:ss-worD'), basic('Feeder:pa:ss-word'), basic('feeder'), 'Bearer x', undefined, 7]) {
      expect(credentials.matches(header)).toBe(false);
    }
  });
});
