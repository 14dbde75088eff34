// The fault scenarios (npm run test:faults): real processes, real Redis and PostgreSQL, faults injected.
const base = require('../tools/jest-project.cjs')(__dirname, 'faults');
module.exports = { ...base, testMatch: ['<rootDir>/src/**/*.fault-spec.ts'], testTimeout: 300_000 };
