import { GatewayEnv, validateEnv } from '@md/config';
import { StreamAuth } from './stream-auth';

const auth = (API_KEY = 'unit-test-api-key-0123456789') => new StreamAuth(validateEnv(GatewayEnv, { API_KEY, STREAM_TOKEN_TTL_S: '60' }));

describe('StreamAuth', () => {
  it('accepts its own token until it expires, and not after', () => {
    const a = auth();
    const { token, expiresAt } = a.issue(1_000_000);
    expect(expiresAt).toBe(1_060_000);
    expect(a.verify(token, 1_059_999)).toBe(true);
    expect(a.verify(token, 1_060_000)).toBe(false);
  });

  it('refuses a token signed under another key, or with its expiry moved', () => {
    const { token } = auth('another-api-key-0123456789').issue();
    expect(auth().verify(token)).toBe(false);
    const mine = auth();
    const [, nonce, signature] = mine.issue(0).token.split('.');
    expect(mine.verify(`${(10 ** 13).toString(36)}.${nonce}.${signature}`, 0)).toBe(false);
  });

  it('refuses malformed tokens and the raw key', () => {
    const a = auth();
    for (const token of ['', 'a.b', 'a.b.c.d', 'x'.repeat(300), 'unit-test-api-key-0123456789']) expect(a.verify(token)).toBe(false);
  });

  it('lets everyone in when no API_KEY is set', () => {
    const open = new StreamAuth(validateEnv(GatewayEnv, { NODE_ENV: 'test' }));
    expect(open.required).toBe(false);
    expect(open.allows(undefined, undefined)).toBe(true);
  });
});
