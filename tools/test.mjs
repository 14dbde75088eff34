#!/usr/bin/env node
/**
 * `npm test`: every test of the workspace, in the order that fails fastest.
 *   1. Redis and PostgreSQL up (started if they are local and down);
 *   2. formatting (Prettier, .prettierrc), lint (module boundaries included) and type checks
 *      of every project, through Nx;
 *   3. unit tests of every project (one Jest run over all projects), then the dashboard's
 *      component tests (Vitest: a browser-like DOM and Vite's module graph);
 *   4. build of every app (some integration tests run them as processes);
 *   5. integration tests against the real servers, one file at a time (the dashboard's
 *      end-to-end test in real Chromium among them);
 *   6. the fault scenarios (tools/faults.mjs: faults injected under load, invariants checked).
 * Ends with one line "N passed, N failed" over all Jest and Vitest tests, and a non-zero exit on any failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { ensurePostgres, ensureRedis } from './services.mjs';

const env = { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', TZ: 'UTC', FORCE_COLOR: process.env.CI ? '0' : '1' };
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;

console.log(`services: redis ${await ensureRedis()}, postgres ${await ensurePostgres()}`);

mkdirSync('tmp', { recursive: true });
const hasLuacheck = spawnSync('luacheck', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasLuacheck) console.log('luacheck not installed (apt-get install -y lua-check): the Lua lint step is skipped');
const steps = [
  ['formatting (Prettier)', 'npx', ['prettier', '--check', '.']],
  ['lint and type checks', 'npx', ['nx', 'run-many', '-t', 'lint', 'typecheck', '--outputStyle=static']],
  // The Lua scripts (libs/pipeline): luacheck where installed (Debian: lua-check). Without it,
  // libs/pipeline's tests still load every script into the real Redis (SCRIPT LOAD: syntax).
  ...(hasLuacheck ? [['Lua lint (luacheck)', 'npx', ['nx', 'run', 'pipeline:lint-lua', '--outputStyle=static']]] : []),
  ['unit tests', 'npx', ['jest', '-c', 'jest.config.cjs', '--json', '--outputFile=tmp/jest-unit.json']],
  // Vitest's JSON report has Jest's shape (numPassedTests, numFailedTests); its path is relative to the Vite root, so absolute here.
  [
    'dashboard component tests',
    'npx',
    [
      'vitest',
      'run',
      '--config',
      'apps/dashboard/vite.config.mts',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${process.cwd()}/tmp/vitest-dashboard.json`,
    ],
  ],
  // Integration tests that need real processes start the built apps.
  ['build', 'npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static']],
  [
    'integration tests',
    'npx',
    ['jest', '-c', 'jest.integration.config.cjs', '--runInBand', '--json', '--outputFile=tmp/jest-integration.json'],
  ],
  // Faults injected under load into real processes; prints its own report table (tools/faults.mjs writes tmp/jest-faults.json).
  ['fault scenarios', 'node', ['tools/faults.mjs'], 'tmp/jest-faults.json'],
];

let passed = 0;
let failed = 0;
const failures = [];
for (const [name, cmd, args, report] of steps) {
  console.log(`\n=== ${name} ===`);
  const file = report ?? args.find((a) => /^--outputFile(\.json)?=/.test(a))?.replace(/^--outputFile(\.json)?=/, '');
  if (file) rmSync(file, { force: true });
  const status = run(cmd, args);
  if (file) {
    try {
      const report = JSON.parse(readFileSync(file, 'utf8'));
      passed += report.numPassedTests;
      failed += report.numFailedTests;
    } catch {
      // No report: the runner itself failed; the status says so.
    }
  }
  if (status !== 0) failures.push(name);
}

console.log(`\n${failures.length ? `failed steps: ${failures.join(', ')}` : 'all steps green'}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failures.length ? 1 : 0);
