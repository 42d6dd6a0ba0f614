// `npm start`: installs node_modules on a fresh clone, then serves the page (index.html) with the vite dev server.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MissingDependency, ROOT, ensureNodeModules } from './ensure-deps.mjs';

try {
  ensureNodeModules();
} catch (error) {
  if (!(error instanceof MissingDependency)) throw error;
  console.error(`npm start: ${error.message}`);
  process.exit(1);
}
// Extra arguments go to vite, e.g. `npm start -- --host 0.0.0.0 --port 8080`.
const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
const result = spawnSync(process.execPath, [vite, ...process.argv.slice(2)], { stdio: 'inherit', cwd: ROOT });
process.exitCode = result.status ?? 1;
