// Integration tests against the real Redis and PostgreSQL of the machine (npm test).
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

// apps/dashboard/server is a project of its own inside apps/dashboard (dashboard-server).
const configs = ['apps', 'apps/dashboard', 'libs'].flatMap((dir) =>
  readdirSync(join(__dirname, dir))
    .map((name) => `${dir}/${name}/jest.integration.config.cjs`)
    .filter((path) => existsSync(join(__dirname, path))),
);

module.exports = { projects: configs.map((path) => `<rootDir>/${path}`), testTimeout: 30_000 };
