import { OrchestratorApiEnv } from '@md/config';
import { API_KEY, ApiKeyGuard } from '@md/platform';

/**
 * Providers of the read API's auth (x-api-key when API_KEY is set), for each module that
 * serves reads (symbols, history, pipeline): one definition, so they cannot drift apart.
 */
export const readApiAuthProviders = [
  ApiKeyGuard,
  { provide: API_KEY, inject: [OrchestratorApiEnv], useFactory: (env: OrchestratorApiEnv) => env.API_KEY },
];
