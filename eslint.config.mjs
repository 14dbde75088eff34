import nx from '@nx/eslint-plugin';

/**
 * Module boundaries are enforced, not hoped for: apps depend on libs, never on each other;
 * backend code may use shared and backend libs; frontend code only shared (browser-safe) libs;
 * shared libs depend only on shared libs.
 */
export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/node_modules', 'bench/results', '.demo', 'tmp'],
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.jsx'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          // Build and test configs may use the shared factories in tools/.
          allow: ['^.*/eslint(\\.base)?\\.config\\.[cm]?[jt]s$', '^(\\.\\./)+tools/[a-z-]+\\.cjs$'],
          depConstraints: [
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:backend', onlyDependOnLibsWithTags: ['scope:shared', 'scope:backend'] },
            { sourceTag: 'scope:frontend', onlyDependOnLibsWithTags: ['scope:shared', 'scope:frontend'] },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:data-access', 'type:calc', 'type:testing'],
            },
            {
              sourceTag: 'type:testing',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:data-access', 'type:calc', 'type:testing'],
            },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'] },
            { sourceTag: 'type:calc', onlyDependOnLibsWithTags: ['type:contracts', 'type:calc'] },
            // Helpers (config, logging, the platform's bootstrap, timing) know no data store.
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:contracts', 'type:util'] },
            // Redis connections, the pipeline protocol, health probes of the stores.
            { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:data-access'] },
          ],
        },
      ],
      // Env schema fields carry explicit types on purpose: the decorator metadata needs them.
      '@typescript-eslint/no-inferrable-types': 'off',
    },
  },
  {
    // @md/testing (ports, processes, test servers) is for tests: shipped code never imports it.
    // (Patterns are relative to each project's eslint.config.mjs; libs/testing turns the rule off.)
    files: ['**/src/**/*.ts', '**/src/**/*.tsx', '**/server/**/*.ts'],
    ignores: ['**/*.spec.ts', '**/*.test.ts', '**/*.test.tsx', '**/test-setup.ts', '**/src/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: '@md/testing', message: '@md/testing is for tests only (*.spec.ts, test/).' }] },
      ],
    },
  },
];
