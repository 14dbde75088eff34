/**
 * The bench's own unit tests (its statistics helpers, src/**\/*.spec.ts). A project of the root
 * jest.config.cjs, so `npm test` runs them; the bench itself (`npm run bench`) is not a test
 * and asserts no timing.
 */
module.exports = require('../tools/jest-project.cjs')(__dirname);
