/// <reference types="vitest/config" />
/**
 * Vite build and dev server of the dashboard, and its Vitest set-up.
 *
 * `nx serve dashboard` runs the dashboard's own server (server/, built) on DEV_SERVER below and
 * this dev server in front of it: /api, /gw, /status and /config.json go to that server, which
 * adds the API key exactly as in production (same code, same limits). The key never reaches
 * this config or the bundle. Nothing from process.env is passed to the client (no `define`, no
 * VITE_* variables).
 */
import { fileURLToPath } from 'node:url';
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig, type ProxyOptions } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Where `nx serve dashboard` starts the dashboard server (see project.json). */
const DEV_SERVER = 'http://127.0.0.1:5174';

export default defineConfig(() => {
  const toServer: ProxyOptions = { target: DEV_SERVER };
  const proxy: Record<string, ProxyOptions> = {
    '/api': toServer,
    '/gw': toServer,
    '/status': toServer,
    '/config.json': toServer,
  };
  return {
    root: here('.'),
    cacheDir: here('../../node_modules/.vite/apps/dashboard'),
    plugins: [react(), tailwindcss()],
    resolve: {
      alias: {
        '@md/common': here('../../libs/common/src/index.ts'),
        '@md/contracts': here('../../libs/contracts/src/index.ts'),
      },
    },
    server: { port: 5173, host: 'localhost', proxy },
    build: {
      outDir: here('../../dist/apps/dashboard'),
      emptyOutDir: true,
      sourcemap: true,
      reportCompressedSize: false,
    },
    test: {
      root: here('.'),
      environment: 'jsdom',
      include: ['src/**/*.test.{ts,tsx}'],
      setupFiles: ['src/test-setup.ts'],
      restoreMocks: true,
    },
  };
});
