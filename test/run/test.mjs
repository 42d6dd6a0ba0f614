// `npm test`: installs what a fresh clone lacks, runs every vitest suite (Node and Chromium), ends with "N passed, N failed".

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MissingDependency, ROOT, ensureNodeModules, ensureRuntimeDir, ensureSystemPackages } from './ensure-deps.mjs';

const REPORT = 'test-artifacts/vitest.json';

/** Passed and failed tests in vitest's JSON report; a file that failed outside its tests counts as one failure. */
function countResults(report) {
  let failed = report.numFailedTests;
  for (const file of report.testResults) {
    const failedTests = file.assertionResults.filter((t) => t.status === 'failed').length;
    if (file.status === 'failed' && failedTests === 0) failed += 1;
  }
  return { passed: report.numPassedTests, failed };
}

function main() {
  try {
    ensureNodeModules();
    ensureSystemPackages();
  } catch (error) {
    if (!(error instanceof MissingDependency)) throw error;
    console.error(`npm test: ${error.message}`);
    return { passed: 0, failed: 1, code: 1 };
  }
  const runtimeDir = ensureRuntimeDir();
  rmSync(join(ROOT, REPORT), { force: true });
  const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const args = ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${REPORT}`, ...process.argv.slice(2)];
  const result = spawnSync(process.execPath, [vitest, ...args], { stdio: 'inherit', cwd: ROOT });
  if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
  const code = result.status ?? 1;
  if (!existsSync(join(ROOT, REPORT))) {
    console.error(`npm test: vitest ${result.signal ? `was killed by ${result.signal}` : `exited with code ${code}`} before writing ${REPORT}`);
    return { passed: 0, failed: 1, code: code || 1 };
  }
  const counts = countResults(JSON.parse(readFileSync(join(ROOT, REPORT), 'utf8')));
  if (code !== 0 && counts.failed === 0) {
    console.error(`npm test: vitest exited with code ${code} without a failing test (see above): counted as one failure`);
    counts.failed = 1;
  }
  return { ...counts, code };
}

const { passed, failed, code } = main();
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = code;
