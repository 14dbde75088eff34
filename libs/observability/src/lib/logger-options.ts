import type { LoggerOptions } from 'pino';
import type { BaseEnv } from '@md/config';

/**
 * The pino options of every process: JSON lines with `service`, `version` and `pid`, the level
 * as its label, ISO time, credentials redacted, pretty output only in development. The Nest
 * apps get them through ObservabilityModule (pino-http); a plain Fastify server (the
 * dashboard's) passes them to pino itself.
 */
export function loggerOptions(service: string, env: Pick<BaseEnv, 'LOG_LEVEL' | 'NODE_ENV'>, version = '0.0.0'): LoggerOptions {
  return {
    level: env.LOG_LEVEL,
    base: { service, version, pid: process.pid },
    messageKey: 'msg',
    formatters: { level: (label: string) => ({ level: label }) },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', 'req.headers["x-internal-token"]'],
      censor: '[redacted]',
    },
    transport: env.NODE_ENV === 'development' ? { target: 'pino-pretty', options: { singleLine: true, colorize: true } } : undefined,
  };
}
