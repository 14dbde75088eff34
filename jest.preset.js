// Every test runs in UTC, whatever the machine's zone: set before Jest forks its workers.
process.env.TZ = 'UTC';
const nxPreset = require('@nx/jest/preset').default;

module.exports = { ...nxPreset };
