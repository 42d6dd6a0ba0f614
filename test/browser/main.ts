// The Chromium test page: runs every shared case (or those the URL selects) on one Engine and records results on window.

import { Engine } from '../../src/index';
import { suites } from '../cases/index';
import { withTimeout } from '../harness/check';
import { DEFAULT_CASE_TIMEOUT, SELECTION_PARAM, type PageState } from './protocol';

const state: PageState = { status: 'loading', adapter: null, error: null, current: null, results: [] };
window.__shadergrad = state;
const logElement = document.getElementById('log')!;
logElement.textContent = '';

function log(line: string): void {
  console.log(`[shadergrad] ${line}`);
  logElement.textContent += `${line}\n`;
}

function describeError(error: unknown): { message: string; stack: string | null } {
  if (error instanceof Error) return { message: error.message, stack: error.stack ?? null };
  return { message: String(error), stack: null };
}

function selectedCases(): Array<{ family: string; testCase: (typeof suites)[string][number] }> {
  const all = Object.entries(suites).flatMap(([family, cases]) => cases.map((testCase) => ({ family, testCase })));
  const param = new URLSearchParams(location.search).get(SELECTION_PARAM);
  if (param === null) return all;
  if (param === '') return [];
  return param.split(',').map((text) => {
    const selected = all[Number(text)];
    if (!/^\d+$/.test(text) || !selected) throw new Error(`?${SELECTION_PARAM}: no case has index ${text} (there are ${all.length})`);
    return selected;
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const todo = selectedCases();
  state.status = 'running';
  const engine = await Engine.create();
  state.adapter = engine.adapterInfo;
  const { vendor, architecture, description } = engine.adapterInfo;
  log(`adapter: ${vendor} ${architecture} ${description}`.trim());
  // After a timeout the case's work may still hold the GPU, so later cases are reported as not run.
  let abandoned: string | null = null;
  for (const { family, testCase } of todo) {
    const { name } = testCase;
    const timeout = testCase.timeout ?? DEFAULT_CASE_TIMEOUT;
    if (abandoned) {
      state.results.push({ family, name, ok: false, error: `not run: ${abandoned}`, stack: null, ms: 0 });
      continue;
    }
    state.current = { family, name, timeout };
    const start = performance.now();
    let error: { message: string; stack: string | null } | null = null;
    try {
      await withTimeout(testCase.run(engine), timeout);
    } catch (thrown) {
      error = describeError(thrown);
      if (/^timed out after/.test(error.message)) abandoned = `"${family} › ${name}" timed out before it`;
    }
    const ms = Math.round(performance.now() - start);
    state.results.push({ family, name, ok: !error, error: error?.message ?? null, stack: error?.stack ?? null, ms });
    log(`${error ? 'FAIL' : 'ok  '} ${family} › ${name} (${ms} ms)${error ? `: ${error.message}` : ''}`);
  }
  state.current = null;
  if (!abandoned) engine.destroy();
  state.status = 'done';
  const failed = state.results.filter((r) => !r.ok).length;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(`done: ${state.results.length - failed} passed, ${failed} failed in ${seconds} s`);
}

main().catch((thrown: unknown) => {
  const { message } = describeError(thrown);
  state.error = message;
  state.status = 'error';
  log(`ERROR ${message}`);
});
