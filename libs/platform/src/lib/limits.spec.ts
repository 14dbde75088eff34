import { AUTH_FAILURE_SOURCES_MAX, AuthFailureLimiter, TooManyFailuresException } from './auth-failures';
import { addressSource, clientAddress } from './client-address';
import { rateLimitTracker, setIdentity } from './rate-limit';

const request = (peer: string, forwarded?: string) => ({
  socket: { remoteAddress: peer },
  headers: forwarded ? { 'x-forwarded-for': forwarded } : {},
});

describe('clientAddress (as Fastify computes request.ip)', () => {
  it('is the peer when TRUST_PROXY is off, whatever X-Forwarded-For says', () => {
    expect(clientAddress(request('::ffff:10.1.2.3', '1.1.1.1'), false)).toBe('10.1.2.3');
  });

  it('reads X-Forwarded-For from the right, through trusted hops only', () => {
    // The client wrote 6.6.6.6 itself; the trusted proxy appended the real 203.0.113.5.
    expect(clientAddress(request('10.0.0.2', '6.6.6.6, 203.0.113.5'), ['10.0.0.0/8'])).toBe('203.0.113.5');
    expect(clientAddress(request('10.0.0.2', '6.6.6.6, 203.0.113.5'), 1)).toBe('203.0.113.5');
    expect(clientAddress(request('10.0.0.2', '6.6.6.6, 10.0.0.9'), ['uniquelocal'])).toBe('6.6.6.6');
    // An untrusted peer's header is ignored.
    expect(clientAddress(request('198.51.100.1', '6.6.6.6'), ['10.0.0.0/8'])).toBe('198.51.100.1');
  });
});

describe('rateLimitTracker', () => {
  it('counts a verified identity at its address, and an unverified request by its address only', () => {
    const anonymous = { ip: '203.0.113.5', headers: { 'x-api-key': 'whatever-the-client-sends' } };
    expect(rateLimitTracker(anonymous)).toBe('ip:203.0.113.5');
    const verified = { ip: '203.0.113.5' };
    setIdentity(verified, 'key:abc');
    expect(rateLimitTracker(verified)).toBe('key:abc@203.0.113.5');
  });

  it('counts an IPv6 visitor per /64 and a v4-mapped one as its IPv4 address', () => {
    expect(rateLimitTracker({ ip: '2001:db8:1:2::1' })).toBe(rateLimitTracker({ ip: '2001:db8:1:2:ffff:ffff:ffff:fffe' }));
    expect(rateLimitTracker({ ip: '2001:db8:1:2::1' })).toBe('ip:2001:db8:1:2::/64');
    expect(rateLimitTracker({ ip: '::ffff:192.0.2.4' })).toBe('ip:192.0.2.4');
  });
});

/** Whom every limit counts a client as (the apps' and the dashboard server's limits alike). */
describe('addressSource', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:1.2.3.4', '1.2.3.4'],
    ['::ffff:102:304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:1.2.3.4', '1.2.3.4'],
    ['2001::5:1:2:3:4', '2001:0:0:5::/64'],
    ['2001:0:0:5:ffff::', '2001:0:0:5::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:DB8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['unknown', 'unknown'],
  ])('%s counts as %s', (address, source) => {
    expect(addressSource(address)).toBe(source);
  });
});

describe('AuthFailureLimiter', () => {
  it('blocks a source after N failures for the rest of its minute, and only that source', () => {
    const limiter = new AuthFailureLimiter(3);
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) {
      expect(() => limiter.check('192.0.2.1', 'ingest', t0)).not.toThrow();
      limiter.fail('192.0.2.1', 'ingest', t0);
    }
    const blocked = (() => {
      try {
        limiter.check('192.0.2.1', 'ingest', t0 + 10_000);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(blocked).toBeInstanceOf(TooManyFailuresException);
    expect((blocked as TooManyFailuresException).retryAfterS).toBe(50);
    expect(() => limiter.check('192.0.2.2', 'ingest', t0)).not.toThrow();
    expect(() => limiter.check('192.0.2.1', 'ingest', t0 + 60_000)).not.toThrow();
  });

  it('counts an IPv6 client per /64', () => {
    expect(addressSource('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressSource('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressSource('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressSource('192.0.2.1')).toBe('192.0.2.1');
    // Compressed in the middle: the /64 is 2001:0:0:5, not 2001:5:1:2.
    expect(addressSource('2001::5:1:2:3:4')).toBe('2001:0:0:5::/64');
    // With HOST=:: an IPv4 client arrives v4-mapped: it is its own source, not one for all of IPv4.
    expect(addressSource('::ffff:1.2.3.4')).not.toBe(addressSource('::ffff:5.6.7.8'));
  });

  it('counts each realm apart: failed ingest credentials never block the read API of that address', () => {
    const limiter = new AuthFailureLimiter(2);
    const t0 = 1_000_000;
    limiter.fail('192.0.2.1', 'ingest', t0);
    limiter.fail('192.0.2.1', 'ingest', t0);
    expect(() => limiter.check('192.0.2.1', 'ingest', t0)).toThrow(TooManyFailuresException);
    expect(() => limiter.check('192.0.2.1', 'read', t0)).not.toThrow();
    expect(() => limiter.check('192.0.2.1', 'stream', t0)).not.toThrow();
  });

  it('when full, evicts sources that are not blocked before a blocked one', () => {
    const limiter = new AuthFailureLimiter(2);
    const t0 = 1_000_000;
    limiter.fail('203.0.113.66', 'read', t0);
    limiter.fail('203.0.113.66', 'read', t0);
    // Fill the rest with one failure each from other addresses, then one more: the map is full.
    for (let i = 1; i < AUTH_FAILURE_SOURCES_MAX; i++) limiter.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'read', t0 + 1);
    expect(limiter.size).toBe(AUTH_FAILURE_SOURCES_MAX);
    limiter.fail('198.51.100.1', 'read', t0 + 2);
    expect(limiter.size).toBe(AUTH_FAILURE_SOURCES_MAX);
    // The oldest entry is the blocked one: it stays blocked.
    expect(() => limiter.check('203.0.113.66', 'read', t0 + 3)).toThrow(TooManyFailuresException);
  });
});
