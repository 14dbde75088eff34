import type { ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthFailureLimiter, TooManyFailuresException } from './auth-failures';
import { ChallengeException } from './errors';
import { identityOf } from './rate-limit';
import { passSecretCheck, SecretGuard, type SecretCheck } from './secret-guard';
import { SecretMatcher } from './secrets';

const token = new SecretMatcher('internal-token-0123456789');
const check = (onRefused?: () => void): SecretCheck<{ header?: string }> => ({
  realm: 'internal',
  challenge: 'Token realm="internal"',
  presented: (request) => request.header,
  verify: (presented) => token.matches(presented),
  onRefused,
});

describe('passSecretCheck', () => {
  it('passes a request with the secret, without counting it', () => {
    const failures = new AuthFailureLimiter(2);
    expect(passSecretCheck(failures, check(), '10.0.0.1', { header: 'internal-token-0123456789' })).toBe(true);
    expect(failures.size).toBe(0);
  });

  it('refuses with the challenge, counts in the realm, then blocks the source there only', () => {
    const failures = new AuthFailureLimiter(2);
    const refused = jest.fn();
    expect(() => passSecretCheck(failures, check(refused), '10.0.0.1', {})).toThrow(ChallengeException);
    expect(() => passSecretCheck(failures, check(refused), '10.0.0.1', { header: 'wrong' })).toThrow(
      expect.objectContaining({ challenge: 'Token realm="internal"' }),
    );
    expect(refused).toHaveBeenCalledTimes(2);
    // Blocked before the credential is looked at: the right one is refused too.
    expect(() => passSecretCheck(failures, check(), '10.0.0.1', { header: 'internal-token-0123456789' })).toThrow(TooManyFailuresException);
    expect(() => failures.check('10.0.0.1', 'read')).not.toThrow();
  });
});

class OpenOrKeyGuard extends SecretGuard {
  constructor(failures: AuthFailureLimiter, key?: string) {
    const matcher = key ? new SecretMatcher(key) : undefined;
    super(
      failures,
      matcher && {
        realm: 'read',
        challenge: 'ApiKey header="x-api-key"',
        presented: (request) => request.headers['x-api-key'],
        verify: (presented) => (matcher.matches(presented) ? 'key:me' : false),
      },
    );
  }
}

const contextOf = (request: Partial<FastifyRequest>) =>
  ({ switchToHttp: () => ({ getRequest: () => request }) }) as unknown as ExecutionContext;

describe('SecretGuard', () => {
  it('lets everything through when no secret is configured', () => {
    expect(new OpenOrKeyGuard(new AuthFailureLimiter(1)).canActivate(contextOf({ ip: '10.0.0.1', headers: {} }))).toBe(true);
  });

  it('gives the request the identity its secret proved', () => {
    const request = { ip: '10.0.0.1', headers: { 'x-api-key': 'read-key-0123456789' } } as unknown as FastifyRequest;
    expect(new OpenOrKeyGuard(new AuthFailureLimiter(1), 'read-key-0123456789').canActivate(contextOf(request))).toBe(true);
    expect(identityOf(request)).toBe('key:me');
  });

  it('throws the 401 of its realm', () => {
    const guard = new OpenOrKeyGuard(new AuthFailureLimiter(5), 'read-key-0123456789');
    expect(() => guard.canActivate(contextOf({ ip: '10.0.0.1', headers: { 'x-api-key': 'nope' } }))).toThrow(ChallengeException);
  });
});
