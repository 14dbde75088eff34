/**
 * The Jest config of one project: `kind` 'unit' runs src/**\/*.spec.ts, 'integration' runs
 * test/integration/**\/*.integration-spec.ts (against the real servers). TZ=UTC comes from
 * jest.preset.js.
 */
const { basename, relative } = require('node:path');

module.exports = function jestProject(dir, kind = 'unit') {
  const name = basename(dir);
  const preset = relative(dir, `${__dirname}/../jest.preset.js`);
  return {
    displayName: kind === 'unit' ? name : `${name}:${kind}`,
    preset: preset.startsWith('.') ? preset : `./${preset}`,
    rootDir: dir,
    testEnvironment: 'node',
    transform: {
      '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
      // Lua scripts are imported as text (libs/pipeline), as webpack's asset/source does in the apps.
      '^.+\\.lua$': `${__dirname}/jest-lua-transform.cjs`,
    },
    moduleFileExtensions: ['ts', 'js'],
    testMatch: kind === 'unit' ? ['<rootDir>/src/**/*.spec.ts'] : ['<rootDir>/test/integration/**/*.integration-spec.ts'],
    ...(kind === 'unit' ? {} : { testTimeout: 30_000 }),
  };
};
