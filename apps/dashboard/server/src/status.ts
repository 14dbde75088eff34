/**
 * GET /status: every service's readiness (each with a short timeout, all at once) and the
 * api's pipeline stats, for the app's pipeline panel. Never fails: an unreachable service is
 * `ready: false` with the reason. The key goes to API_URL's /pipeline only, never along a redirect.
 */
import type { DashboardEnv } from '@md/config';
import type { DashboardStatus, PipelineStats, ServiceReadiness } from '@md/contracts';

const PROBE_TIMEOUT_MS = 1_500;

type StatusConfig = Pick<DashboardEnv, 'API_URL' | 'GATEWAY_URL' | 'CONSUMERS_URL' | 'FEEDER_URL' | 'API_KEY'>;

async function probe(name: string, url: string): Promise<ServiceReadiness> {
  const started = performance.now();
  try {
    const answer = await fetch(`${url}/health/readiness`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await answer.arrayBuffer();
    return { name, ready: answer.ok, status: answer.status, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${PROBE_TIMEOUT_MS} ms` : 'unreachable';
    return { name, ready: false, status: null, error: reason, latencyMs: Math.round(performance.now() - started) };
  }
}

async function pipelineOf(config: StatusConfig): Promise<Pick<DashboardStatus, 'pipeline' | 'pipelineError'>> {
  try {
    const answer = await fetch(`${config.API_URL}/pipeline`, {
      headers: config.API_KEY ? { 'x-api-key': config.API_KEY } : {},
      redirect: 'error',
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    if (!answer.ok) return { pipeline: null, pipelineError: `api answered ${answer.status}` };
    return { pipeline: (await answer.json()) as PipelineStats };
  } catch {
    return { pipeline: null, pipelineError: 'api unreachable' };
  }
}

export async function statusOf(config: StatusConfig): Promise<DashboardStatus> {
  const services: [string, string][] = [
    ['orchestrator-api', config.API_URL],
    ['realtime-gateway', config.GATEWAY_URL],
    ['consumers', config.CONSUMERS_URL],
    ['feeder', config.FEEDER_URL],
  ];
  const [probes, stats] = await Promise.all([Promise.all(services.map(([name, url]) => probe(name, url))), pipelineOf(config)]);
  return { services: probes, ...stats, at: Date.now() };
}

/** One /status computation at a time, reused for a second: many open dashboards cost the services one probe round. */
export function cachedStatus(config: StatusConfig, maxAgeMs = 1_000): () => Promise<DashboardStatus> {
  let cache: { at: number; value: Promise<DashboardStatus> } | undefined;
  return () => {
    if (!cache || Date.now() - cache.at > maxAgeMs) cache = { at: Date.now(), value: statusOf(config) };
    return cache.value;
  };
}
