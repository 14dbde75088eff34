// The dashboard's browser end-to-end test (real processes, real Chromium); its unit tests run on Vitest.
const config = require('../../tools/jest-project.cjs')(__dirname, 'integration');

module.exports = { ...config, testMatch: ['<rootDir>/test/e2e/**/*.integration-spec.ts'], testTimeout: 180_000 };
