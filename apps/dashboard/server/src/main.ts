/**
 * dashboard-server: serves the built dashboard (dist/apps/dashboard) and proxies what the
 * browser needs, so that the API key never reaches the browser (server.ts, proxy.ts). A bad
 * variable stops it with exit code 78 and one JSON line naming the variable, never its value.
 */
import 'reflect-metadata';
import { DashboardEnv, loadEnvOrExit } from '@md/config';
import { SERVICE } from './config';
import { createDashboardServer } from './server';

async function main(): Promise<void> {
  const config = loadEnvOrExit(DashboardEnv, SERVICE);
  const { app, log } = await createDashboardServer(config);
  try {
    const url = await app.listen({ port: config.PORT, host: config.HOST });
    log.info(
      { api: config.API_URL, gateway: config.GATEWAY_URL, apiKey: config.API_KEY ? 'set (added server-side)' : 'unset' },
      `listening on ${url}`,
    );
  } catch (error) {
    log.error(`cannot listen: ${(error as Error).message}`);
    process.exit(1);
  }
  // SIGTERM: stop accepting, end open event streams (their browsers reconnect to another
  // replica and resume), and exit once the rest is answered, or after 5 s.
  const stop = (signal: string) => {
    log.info(`${signal}: shutting down`);
    void app.close().then(() => process.exit(0));
    setTimeout(() => app.server.closeAllConnections(), 2_000).unref();
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
