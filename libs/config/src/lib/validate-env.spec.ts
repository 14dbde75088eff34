import { ConfigError, envKeysOf, validateEnv } from './validate-env';
import { OrchestratorApiEnv } from './schemas/orchestrator-api.env';
import { ServiceEnv } from './schemas/service.env';

const required = { INGEST_USERNAME: 'feeder', INGEST_PASSWORD: 's3cret-password' };

function problemsOf(source: Record<string, string>): string[] {
  try {
    validateEnv(OrchestratorApiEnv, source);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('validateEnv', () => {
  it('applies defaults and converts numbers', () => {
    const env = validateEnv(OrchestratorApiEnv, { ...required, PORT: '4100', DEDUPE_TTL_S: '60' });
    expect(env).toBeInstanceOf(OrchestratorApiEnv);
    expect(env.PORT).toBe(4100);
    expect(env.DEDUPE_TTL_S).toBe(60);
    expect(env.QUEUE_NAME).toBe('ticks.received');
    expect(env.PUBSUB_CHANNEL).toBe('realtime:updates');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.API_KEY).toBeUndefined();
  });

  it('gives each app its own PORT default', () => {
    expect(validateEnv(OrchestratorApiEnv, required).PORT).toBe(3000);
  });

  it('names every missing required variable', () => {
    expect(problemsOf({})).toEqual(['INGEST_USERNAME: is required', 'INGEST_PASSWORD: is required']);
  });

  it('treats an empty value as unset', () => {
    expect(problemsOf({ ...required, INGEST_USERNAME: '' })).toEqual(['INGEST_USERNAME: is required']);
  });

  it.each([
    ['PORT', 'abc', 'PORT: must be an integer between 0 and 65535'],
    ['PORT', '70000', 'PORT: must be an integer between 0 and 65535'],
    ['REDIS_URL', 'http://x', 'REDIS_URL: must be a redis/rediss:// URL'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent'],
    ['REDIS_PREFIX', 'a b', 'REDIS_PREFIX: must match letters, digits, _ . -'],
    ['INGEST_PASSWORD', 'short', 'INGEST_PASSWORD: must be at least 8 characters'],
    ['API_KEY', 'too-short', 'API_KEY: must be at least 16 characters when set'],
  ])('names a malformed %s=%s', (name, value, problem) => {
    expect(problemsOf({ ...required, [name]: value })).toEqual([problem]);
  });

  it('never echoes a value, which may be a secret', () => {
    const secret = 'tiny';
    const error = (() => {
      try {
        validateEnv(OrchestratorApiEnv, { ...required, INGEST_PASSWORD: secret });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error?.message).toContain('INGEST_PASSWORD');
    expect(error?.message).not.toContain(secret);
  });

  it('ignores variables the schema does not declare', () => {
    expect(() => validateEnv(OrchestratorApiEnv, { ...required, SOMETHING_ELSE: 'x' })).not.toThrow();
  });
});

describe('envKeysOf', () => {
  it('lists the declared variables, inherited ones included', () => {
    const keys = envKeysOf(OrchestratorApiEnv);
    expect(keys).toEqual(expect.arrayContaining([...envKeysOf(ServiceEnv), 'INGEST_USERNAME', 'API_KEY', 'DEDUPE_TTL_S']));
  });
});
