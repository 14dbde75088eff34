import baseConfig from '../../eslint.config.mjs';

/**
 * The dashboard is scope:frontend: its code may use browser-safe (scope:shared) libs only.
 * One exception, for its end-to-end test alone: that test runs in Node and starts the backend
 * as processes, through the integration-test harness (@md/testing, scope:backend).
 */
const [level, options] = baseConfig.find((config) => config.rules?.['@nx/enforce-module-boundaries']).rules[
  '@nx/enforce-module-boundaries'
];

export default [
  ...baseConfig,
  // server/ is its own project (dashboard-server, scope:backend), linted by its own config.
  { ignores: ['server/**'] },
  {
    files: ['test/e2e/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': [level, { ...options, allow: [...options.allow, '^@md/testing$'] }] },
  },
];
