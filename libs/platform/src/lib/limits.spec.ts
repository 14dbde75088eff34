import { AuthFailureLimiter, failureSourceOf, TooManyFailuresException } from './auth-failures';
import { clientAddress } from './client-address';
import { rateLimitTracker, setIdentity } from './rate-limit';

const request = (peer: string, forwarded?: string) => ({ socket: { remoteAddress: peer }, headers: forwarded ? { 'x-forwarded-for': forwarded } : {} });

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
    expect(failureSourceOf('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(failureSourceOf('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(failureSourceOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(failureSourceOf('192.0.2.1')).toBe('192.0.2.1');
  });
});
