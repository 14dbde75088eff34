// Unit tests of every project in one Jest run (npm test); Nx runs them per project too.
module.exports = {
  projects: [
    '<rootDir>/apps/*/jest.config.cjs',
    '<rootDir>/apps/dashboard/server/jest.config.cjs',
    '<rootDir>/libs/*/jest.config.cjs',
    '<rootDir>/deploy/jest.config.cjs',
    '<rootDir>/bench/jest.config.cjs',
  ],
};
