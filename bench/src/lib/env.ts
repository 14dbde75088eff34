/**
 * The bench's environment, read in this one place (the bench is a tool, not a service: it has
 * no config schema of its own). The driver's settings, and what each child script is given.
 */

/** The driver's (run.ts). */
export function driverEnv() {
  return {
    /** A database the bench may FLUSHDB. */
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/9',
    /** Where the bench creates its databases. */
    pgBaseUrl: process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    /** storage: the api's read pool cap for this run (default the api's own). */
    pgReadPoolMax: process.env.BENCH_PG_READ_POOL_MAX,
  };
}

/** tools/services.mjs checks REDIS_URL: the server of the bench's database. */
export function defaultRedisServer(url: string): void {
  process.env.REDIS_URL ??= url.replace(/\/\d+$/, '');
}

/** The whole environment of the driver, for the child processes it forks (fleets, load generator). */
export const inheritedEnv = (): NodeJS.ProcessEnv => process.env;

/** PATH only: the services get exactly the env the bench gives them. */
export const path = (): string => process.env.PATH ?? '';

/** A bench script started as a service (baselines/*): what Service.start gives it. */
export function scriptEnv() {
  const required = (name: string): string => {
    const value = process.env[name];
    if (value === undefined) throw new Error(`${name} is not set`);
    return value;
  };
  return {
    port: () => Number(required('PORT')),
    redisUrl: () => required('REDIS_URL'),
    redisPrefix: () => required('REDIS_PREFIX'),
    channel: () => required('PUBSUB_CHANNEL'),
    sioKey: () => required('SIO_KEY'),
  };
}

/** ack-probe: the file to write the feeder's round trips to (unset: the probe does nothing). */
export const ackFile = (): string | undefined => process.env.BENCH_ACK_FILE;
