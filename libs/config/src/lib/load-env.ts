import { ConfigError, validateEnv } from './validate-env';

/**
 * For a service's main.ts: validate process.env against the schema, or print what is wrong
 * and exit with status 78 (EX_CONFIG) before anything starts.
 */
export function loadEnvOrExit<T extends object>(schema: new () => T, service: string): T {
  try {
    return validateEnv(schema, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${JSON.stringify({ level: 'fatal', service, msg: error.message, problems: error.problems })}\n`);
      process.exit(78);
    }
    throw error;
  }
}
