/// <reference types="vitest/config" />
/**
 * Vite build and dev server of the dashboard, and its Vitest set-up.
 *
 * `nx serve dashboard` proxies exactly as the production server (server/serve.mjs) does, from
 * the same environment variables and with the same code for /status and /config.json: the
 * API key is added here, in Node, and never reaches the bundle. Nothing from process.env is
 * passed to the client (no `define`, no VITE_* variables).
 */
import { fileURLToPath } from 'node:url';
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin, type ProxyOptions } from 'vite';
import { loadConfigOrExit, publicConfig, statusOf } from './server/serve.mjs';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** /status and /config.json in the dev server, from the production server's own functions. */
function dashboardServerRoutes(): Plugin {
  return {
    name: 'dashboard-server-routes',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.url !== '/status' && req.url !== '/config.json') return next();
        const config = loadConfigOrExit(process.env);
        void (req.url === '/status' ? statusOf(config) : Promise.resolve(publicConfig(config))).then((body) => {
          res.setHeader('content-type', 'application/json; charset=utf-8');
          res.end(JSON.stringify(body));
        });
      });
    },
  };
}

export default defineConfig(({ command }) => {
  const isTest = process.env.VITEST !== undefined;
  // Only the dev server needs the upstreams (and validates them); build and tests do not.
  const config = command === 'serve' && !isTest ? loadConfigOrExit(process.env) : undefined;
  const withKey = config?.API_KEY ? { 'x-api-key': config.API_KEY } : undefined;
  const proxy: Record<string, ProxyOptions> = config
    ? {
        '/api': { target: config.API_URL, changeOrigin: true, rewrite: (path) => path.replace(/^\/api/, ''), headers: withKey },
        '/gw/stream/token': { target: config.GATEWAY_URL, changeOrigin: true, rewrite: (path) => path.replace(/^\/gw/, ''), headers: withKey },
        // The event stream: no key (the browser sends its stream token).
        '/gw': { target: config.GATEWAY_URL, changeOrigin: true, rewrite: (path) => path.replace(/^\/gw/, '') },
      }
    : {};
  return {
    root: here('.'),
    cacheDir: here('../../node_modules/.vite/apps/dashboard'),
    plugins: [react(), tailwindcss(), ...(config ? [dashboardServerRoutes()] : [])],
    resolve: {
      alias: { '@md/contracts': here('../../libs/contracts/src/index.ts') },
    },
    server: { port: config?.PORT ?? 5173, host: config?.HOST === '0.0.0.0' ? 'localhost' : config?.HOST, proxy },
    build: {
      outDir: here('../../dist/apps/dashboard'),
      emptyOutDir: true,
      sourcemap: true,
      reportCompressedSize: false,
    },
    test: {
      root: here('.'),
      environment: 'jsdom',
      include: ['src/**/*.test.{ts,tsx}', 'server/**/*.test.ts'],
      setupFiles: ['src/test-setup.ts'],
      restoreMocks: true,
    },
  };
});
