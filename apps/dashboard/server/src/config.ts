/**
 * The dashboard server's configuration: DashboardEnv (libs/config) read once, at boot, and what
 * of it the browser may see. Nothing here reads process.env; main.ts hands it over.
 */
import { ConfigError, DashboardEnv, validateEnv } from '@md/config';
import type { DashboardPublicConfig } from '@md/contracts';

export const SERVICE = 'dashboard';

/**
 * The environment against DashboardEnv: the config, or every problem (named, never the value).
 * Empty counts as unset. For tests and the dev server; main.ts uses loadEnvOrExit.
 */
export function readConfig(source: Record<string, string | undefined>): { config: DashboardEnv; problems: string[] } {
  try {
    return { config: validateEnv(DashboardEnv, source), problems: [] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { config: new DashboardEnv(), problems: error.problems };
  }
}

/** What the app reads at start (GET /config.json): public URLs only, never the key. */
export function publicConfig(config: DashboardEnv): DashboardPublicConfig {
  return {
    gatewayUrl: config.GATEWAY_PUBLIC_URL,
    apiDocsUrl: `${config.API_PUBLIC_URL}/docs`,
    queueAdminUrl: `${config.API_PUBLIC_URL}/admin/queues`,
  };
}
