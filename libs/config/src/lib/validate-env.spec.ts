import { ConfigError, envKeysOf, validateEnv } from './validate-env';
import { OrchestratorApiEnv } from './schemas/orchestrator-api.env';
import { ServiceEnv } from './schemas/service.env';
import { ConsumersEnv } from './schemas/consumers.env';
import { FeederEnv } from './schemas/feeder.env';
import { GatewayEnv } from './schemas/gateway.env';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPlaceholder, parseTrustProxy } from './secrets-policy';

// NODE_ENV=test: production (the default) also needs API_KEY or READ_API_OPEN, tested below.
const required = { NODE_ENV: 'test', INGEST_USERNAME: 'feeder', INGEST_PASSWORD: 's3cret-password', INTERNAL_TOKEN: 'internal-token-0123' };

function problemsWith(schema: new () => object, source: Record<string, string>): string[] {
  try {
    validateEnv(schema, source);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

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
    const env = validateEnv(OrchestratorApiEnv, { ...required, PORT: '4100', DEDUPE_TTL_S: '900' });
    expect(env).toBeInstanceOf(OrchestratorApiEnv);
    expect(env.PORT).toBe(4100);
    expect(env.DEDUPE_TTL_S).toBe(900);
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
    expect(problemsOf({ NODE_ENV: 'test' })).toEqual([
      'INGEST_USERNAME: is required',
      'INGEST_PASSWORD: is required',
      'INTERNAL_TOKEN: is required',
    ]);
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
    // Shorter than the window + skew + replay margin: a replayed or resent tick could count twice.
    ['DEDUPE_TTL_S', '60', 'DEDUPE_TTL_S: must be an integer between 600 and 2592000'],
    ['MAX_FUTURE_SKEW_MS', '300000', 'MAX_FUTURE_SKEW_MS: must be an integer between 0 and 60000'],
    ['MAX_SYMBOLS', '0', 'MAX_SYMBOLS: must be an integer between 1 and 100000'],
    ['BUFFER_MAX_TICKS', '10', 'BUFFER_MAX_TICKS: must be an integer between 1000 and 100000000'],
    ['INTERNAL_PORT', '3000', 'INTERNAL_PORT: must differ from PORT (internal endpoints get a listener of their own)'],
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

describe('secrets and exposure', () => {
  /** The values .env.example gives, by name. */
  const example = Object.fromEntries(
    readFileSync(join(__dirname, '../../../../.env.example'), 'utf8')
      .split('\n')
      .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map(([, key, value]) => [key, value]),
  );
  const SECRETS = ['INGEST_PASSWORD', 'INTERNAL_TOKEN', 'API_KEY', 'ADMIN_PASSWORD'];

  it('refuses every secret .env.example gives a value, naming the variable', () => {
    const given = SECRETS.filter((key) => example[key]);
    expect(given).toEqual(['INGEST_PASSWORD', 'INTERNAL_TOKEN']);
    expect(problemsWith(OrchestratorApiEnv, { ...example, READ_API_OPEN: 'true' })).toEqual(
      given.map((key) => `${key}: is a published placeholder value: set a secret of your own`),
    );
    expect(problemsWith(FeederEnv, example)).toEqual(['INGEST_PASSWORD: is a published placeholder value: set a secret of your own']);
    expect(problemsWith(ConsumersEnv, example)).toEqual(['INTERNAL_TOKEN: is a published placeholder value: set a secret of your own']);
  });

  it.each([
    ['INGEST_PASSWORD', 'change-me-ingest'],
    ['API_KEY', 'change-me-0123456789abcdef'],
    ['INTERNAL_TOKEN', 'change-me-internal-0123'],
    ['ADMIN_PASSWORD', 'CHANGEME-admin-password'],
  ])('refuses the placeholder %s=%s (doc/deploy.md and variants)', (name, value) => {
    expect(problemsOf({ ...required, [name]: value })).toEqual([`${name}: is a published placeholder value: set a secret of your own`]);
  });

  it('knows placeholders from real secrets', () => {
    expect(isPlaceholder('change-me-please')).toBe(true);
    expect(isPlaceholder('s3cret-change-me')).toBe(false);
  });

  it.each([
    ['orchestrator-api', OrchestratorApiEnv, required],
    ['realtime-gateway', GatewayEnv, {}],
  ] as const)('%s: with NODE_ENV=production, no API_KEY is refused unless READ_API_OPEN=true', (_app, schema, base) => {
    const production = { ...base, NODE_ENV: 'production' };
    expect(problemsWith(schema, production)).toEqual([
      'API_KEY: is required with NODE_ENV=production (or set READ_API_OPEN=true to leave the read API and streams open)',
    ]);
    // NODE_ENV defaults to production.
    expect(problemsWith(schema, { ...base, NODE_ENV: '' })).toHaveLength(1);
    expect(problemsWith(schema, { ...production, READ_API_OPEN: 'true' })).toEqual([]);
    expect(problemsWith(schema, { ...production, API_KEY: 'a-real-key-0123456789' })).toEqual([]);
    expect(problemsWith(schema, { ...base, NODE_ENV: 'development' })).toEqual([]);
    expect(problemsWith(schema, { ...production, READ_API_OPEN: 'true', API_KEY: 'short' })).toEqual([
      'API_KEY: must be at least 16 characters when set',
    ]);
  });

  it.each([
    ['orchestrator-api', 'INGEST_USERNAME', OrchestratorApiEnv],
    ['orchestrator-api', 'ADMIN_USERNAME', OrchestratorApiEnv],
    ['feeder', 'INGEST_USERNAME', FeederEnv],
  ] as const)('%s: refuses a %s containing ":" (Basic Auth cannot carry it)', (_app, name, schema) => {
    expect(problemsWith(schema, { ...required, [name]: 'feed:er' })).toEqual([
      `${name}: must not contain ":" (HTTP Basic Auth cannot carry it in a user name)`,
    ]);
  });
});

describe('TRUST_PROXY and AUTH_FAILURES_PER_MIN', () => {
  it('are off and 20 by default', () => {
    const env = validateEnv(OrchestratorApiEnv, required);
    expect(env.TRUST_PROXY).toBe(false);
    expect(env.AUTH_FAILURES_PER_MIN).toBe(20);
    expect(validateEnv(GatewayEnv, { NODE_ENV: 'test' }).TRUST_PROXY).toBe(false);
  });

  it.each([
    ['false', false],
    ['2', 2],
    ['10.0.0.0/8, 192.168.1.7', ['10.0.0.0/8', '192.168.1.7']],
    ['loopback,fd00::/8', ['loopback', 'fd00::/8']],
  ])('reads TRUST_PROXY=%s', (raw, parsed) => {
    expect(validateEnv(GatewayEnv, { NODE_ENV: 'test', TRUST_PROXY: raw }).TRUST_PROXY).toEqual(parsed);
    expect(parseTrustProxy(raw)).toEqual(parsed);
  });

  it.each(['true', '11', '10.0.0.0/33', 'proxy.local', '1.2.3.4/8/9', '10.0.0.1,'])('refuses TRUST_PROXY=%s', (raw) => {
    expect(problemsWith(GatewayEnv, { NODE_ENV: 'test', TRUST_PROXY: raw })).toEqual([
      'TRUST_PROXY: must be false, a hop count 1-10, or a comma-separated list of IP addresses / CIDRs (or loopback, linklocal, uniquelocal)',
    ]);
  });

  it('takes LISTEN_BACKLOG from 1 to 65,535, 4,096 by default', () => {
    expect(validateEnv(GatewayEnv, { NODE_ENV: 'test' }).LISTEN_BACKLOG).toBe(4_096);
    expect(validateEnv(GatewayEnv, { NODE_ENV: 'test', LISTEN_BACKLOG: '65535' }).LISTEN_BACKLOG).toBe(65_535);
    for (const raw of ['0', '65536', 'x']) {
      expect(problemsWith(GatewayEnv, { NODE_ENV: 'test', LISTEN_BACKLOG: raw })).toEqual([
        'LISTEN_BACKLOG: must be an integer between 1 and 65535',
      ]);
    }
  });

  it.each(['0', '100001', 'x'])('refuses AUTH_FAILURES_PER_MIN=%s', (raw) => {
    expect(problemsOf({ ...required, AUTH_FAILURES_PER_MIN: raw })).toEqual([
      'AUTH_FAILURES_PER_MIN: must be an integer between 1 and 100000',
    ]);
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

  it("reads a bare host:port TARGET_URL (Render's fromService hostport) as the api's ingest there", () => {
    const feeder = { INGEST_USERNAME: 'feeder', INGEST_PASSWORD: 'a-real-secret-1' };
    expect(validateEnv(FeederEnv, { ...feeder, TARGET_URL: 'orchestrator-api-x1y2:10000' }).TARGET_URL).toBe(
      'http://orchestrator-api-x1y2:10000/ingest/tick',
    );
    expect(validateEnv(FeederEnv, { ...feeder, TARGET_URL: 'https://api.example.com/ingest/tick' }).TARGET_URL).toBe(
      'https://api.example.com/ingest/tick',
    );
  });

  it("reads a bare host ORCHESTRATOR_URL as the api's internal listener there, http://host:3100", () => {
    // What a Render blueprint's `fromService … property: host` gives: the api's private host name.
    expect(validateEnv(ConsumersEnv, { ...token, ORCHESTRATOR_URL: 'orchestrator-api-x1y2' }).ORCHESTRATOR_URL).toBe(
      'http://orchestrator-api-x1y2:3100',
    );
  });

  it('requires the internal token and an http(s) ORCHESTRATOR_URL', () => {
    expect(() => validateEnv(ConsumersEnv, {})).toThrow('INTERNAL_TOKEN: is required');
    expect(() => validateEnv(ConsumersEnv, { ...token, ORCHESTRATOR_URL: 'ftp://x' })).toThrow(
      'ORCHESTRATOR_URL: must be a http/https:// URL',
    );
  });
});
