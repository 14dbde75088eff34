#!/usr/bin/env node
/**
 * `npm run test:faults`: the fault scenarios of faults/ (real processes, a throw-away
 * redis-server and database per scenario, faults injected under load), then the report: one
 * row per scenario with ticks sent, accepted, stored, lost, duplicated, whether the views are
 * correct and the stream's silent gaps. Exits non-zero when any invariant or test fails.
 * Needs the built apps (npm test builds first; alone: npx nx run-many -t build).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { ensurePostgres, ensureRedis } from './services.mjs';

const REPORT = 'tmp/faults/report.jsonl';
const JSON_OUT = 'tmp/jest-faults.json';

export async function runFaults(extraArgs = []) {
  await ensureRedis();
  await ensurePostgres();
  mkdirSync('tmp/faults', { recursive: true });
  rmSync(REPORT, { force: true });
  rmSync(JSON_OUT, { force: true });
  const status =
    spawnSync('npx', ['jest', '-c', 'faults/jest.faults.config.cjs', '--runInBand', '--json', `--outputFile=${JSON_OUT}`, ...extraArgs], {
      stdio: 'inherit',
      env: { ...process.env, TZ: 'UTC' },
    }).status ?? 1;

  const rows = existsSync(REPORT)
    ? readFileSync(REPORT, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
    : [];
  const columns = ['scenario', 'sent', 'accepted', 'stored', 'lost', 'duplicated', 'views correct', 'silent gaps', 'invariants'];
  const cells = rows.map((r) => [
    r.scenario,
    r.sent,
    r.accepted,
    r.stored,
    r.lost,
    r.duplicated,
    r.viewsCorrect ? 'yes' : 'NO',
    r.silentGaps === null ? 'n/a' : r.silentGaps,
    r.failures.length ? 'FAIL' : 'ok',
  ]);
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => String(row[i]).length)));
  const line = (row) => `| ${row.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ')} |`;
  console.log(`\nFault scenarios\n${line(columns)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const row of cells) console.log(line(row));
  for (const r of rows.filter((row) => row.failures.length)) console.log(`\n${r.scenario}:\n  ${r.failures.slice(0, 20).join('\n  ')}`);

  let passed = 0;
  let failed = 0;
  try {
    const report = JSON.parse(readFileSync(JSON_OUT, 'utf8'));
    passed = report.numPassedTests;
    failed = report.numFailedTests;
  } catch {
    // no report: the runner failed; the status says so
  }
  const invariantFailures = rows.filter((r) => r.failures.length).length;
  return { status: status !== 0 || invariantFailures ? 1 : 0, passed, failed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { status, passed, failed } = await runFaults(process.argv.slice(2));
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exit(status);
}
