/**
 * The images' HEALTHCHECK (and compose's): GET <path> on the app's own port, exit 0 on a 2xx.
 * The port is $PORT when set, else the app's default (APP is set in the image at build time;
 * deploy/src/consistency.spec.ts checks these defaults against the config schemas).
 * node's fetch: the slim image has no curl.
 */
const DEFAULT_PORTS = { 'orchestrator-api': 3000, 'realtime-gateway': 3001, consumers: 3002, feeder: 3003, dashboard: 5173 };
const path = process.argv[2] || '/health/liveness';
const port = process.env.PORT || DEFAULT_PORTS[process.env.APP];
fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(4000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
