import { ConfigError, envKeysOf, validateEnv } from './validate-env';
import { OrchestratorApiEnv } from './schemas/orchestrator-api.env';
import { ServiceEnv } from './schemas/service.env';
import { ConsumersEnv } from './schemas/consumers.env';

const required = { INGEST_USERNAME: 'feeder', INGEST_PASSWORD: 's3cret-password', INTERNAL_TOKEN: 'internal-token-0123' };

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
    expect(env.VIEW_QUEUE_NAME).toBe('views.compute');
    expect(env.ADMIN_USERNAME).toBe('admin');
    expect(env.ADMIN_PASSWORD).toBeUndefined();
  });

  it.each([
    ['false', false],
    ['0', false],
    ['true', true],
    ['1', true],
  ])('reads the boolean FLUSH_ENABLED=%s as %s', (value, expected) => {
    expect(validateEnv(OrchestratorApiEnv, { ...required, FLUSH_ENABLED: value }).FLUSH_ENABLED).toBe(expected);
  });

  it('refuses a boolean that is not true/false/1/0', () => {
    expect(problemsOf({ ...required, FLUSH_ENABLED: 'yes' })).toEqual(['FLUSH_ENABLED: must be true or false']);
  });

  it('gives each app its own PORT default', () => {
    expect(validateEnv(OrchestratorApiEnv, required).PORT).toBe(3000);
  });

  it('names every missing required variable', () => {
    expect(problemsOf({})).toEqual(['INGEST_USERNAME: is required', 'INGEST_PASSWORD: is required', 'INTERNAL_TOKEN: is required']);
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
    ['ADMIN_PASSWORD', 'elevenchars', 'ADMIN_PASSWORD: must be at least 12 characters when set'],
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

describe('ConsumersEnv', () => {
  const token = { INTERNAL_TOKEN: 'internal-token-0123' };

  it('runs both roles by default, on port 3002', () => {
    const env = validateEnv(ConsumersEnv, token);
    expect(env.CONSUMER_ROLES).toEqual(['calc-a', 'calc-b']);
    expect(env.PORT).toBe(3002);
    expect(env.VIEW_QUEUE_NAME).toBe('views.compute');
  });

  it('reads CONSUMER_ROLES as a comma-separated list', () => {
    expect(validateEnv(ConsumersEnv, { ...token, CONSUMER_ROLES: ' calc-b ' }).CONSUMER_ROLES).toEqual(['calc-b']);
  });

  it.each([
    ['an unknown role', 'calc-a,calc-c', 'CONSUMER_ROLES: must be a comma-separated list of calc-a, calc-b'],
    ['no role', ',', 'CONSUMER_ROLES: must name at least one role'],
  ])('names %s', (_name, value, problem) => {
    expect(() => validateEnv(ConsumersEnv, { ...token, CONSUMER_ROLES: value })).toThrow(problem);
  });

  it('reads a bare host:port ORCHESTRATOR_URL as http://host:port', () => {
    expect(validateEnv(ConsumersEnv, { ...token, ORCHESTRATOR_URL: 'orchestrator-api-x1y2:10000' }).ORCHESTRATOR_URL).toBe(
      'http://orchestrator-api-x1y2:10000',
    );
  });

  it('requires the internal token and an http(s) ORCHESTRATOR_URL', () => {
    expect(() => validateEnv(ConsumersEnv, {})).toThrow('INTERNAL_TOKEN: is required');
    expect(() => validateEnv(ConsumersEnv, { ...token, ORCHESTRATOR_URL: 'ftp://x' })).toThrow('ORCHESTRATOR_URL: must be a http/https:// URL');
  });
});
