import type { PipelineStats } from './pipeline';

/**
 * What the dashboard's server answers its browser app with (apps/dashboard/server): GET
 * /status and GET /config.json. Browser-safe: the server builds them, the app reads them.
 */

/** One service behind the dashboard, as its readiness probe found it. */
export interface ServiceReadiness {
  name: string;
  ready: boolean;
  /** The probe's HTTP status; null when the service did not answer. */
  status: number | null;
  /** Why it is not ready when it did not answer (unreachable, a timeout); never an upstream's message. */
  error?: string;
  latencyMs: number;
}

/** GET /status of the dashboard server. */
export interface DashboardStatus {
  services: ServiceReadiness[];
  pipeline: PipelineStats | null;
  pipelineError?: string;
  /** The server's clock when it answered: ages are computed against it, not the browser's. */
  at: number;
}

/** GET /config.json of the dashboard server: public URLs only, never a key or an upstream address. */
export interface DashboardPublicConfig {
  gatewayUrl: string;
  apiDocsUrl: string;
  queueAdminUrl: string;
}
