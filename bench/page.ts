// The benchmark page's script: runs the suites the URL names (?quick=1&suites=…&impls=…&filter=…) and leaves the report on window.__bench.

import { fromQuery } from './lib/args';
import { runBench } from './lib/run';
import type { Report } from './lib/types';

interface BenchState {
  status: 'running' | 'done' | 'error';
  report: Report | null;
  error: string | null;
}

declare global {
  interface Window {
    __bench?: BenchState;
  }
}

const state: BenchState = { status: 'running', report: null, error: null };
window.__bench = state;
const logElement = document.getElementById('log')!;
logElement.textContent = '';

function log(line: string): void {
  console.log(`[bench] ${line}`);
  logElement.textContent += `${line}\n`;
}

async function main(): Promise<void> {
  const options = fromQuery(location.search);
  const chromium = navigator.userAgent.match(/Chrom(e|ium)\/[\d.]+/)?.[0] ?? navigator.userAgent;
  state.report = await runBench({ ...options, environment: `${chromium} (navigator.gpu${crossOriginIsolated ? ', cross-origin isolated: 5 µs timer' : ', 100 µs timer'})` }, log);
  state.status = 'done';
}

main().catch((error: unknown) => {
  state.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
  state.status = 'error';
  log(`error: ${state.error}`);
});
