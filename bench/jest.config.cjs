/**
 * The bench's own unit tests: its statistics helpers (plain CommonJS, no transform). A project of
 * the root jest.config.cjs, so `npm test` runs them; the bench itself (`npm run bench`) is not a
 * test and asserts no timing.
 */
module.exports = {
  displayName: 'bench',
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/lib/**/*.spec.cjs'],
  moduleFileExtensions: ['js', 'cjs'],
  transform: {},
};
