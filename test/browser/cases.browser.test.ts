// Runs the shared test cases (test/cases) in headless Chromium on WebGPU: a vite dev server serves the test page, puppeteer-core drives the system Chromium (launch.ts).

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { suites } from '../cases/index';
import { launchChromium, type Chromium } from './launch';
import { DEFAULT_CASE_TIMEOUT, SELECTION_PARAM, type CaseResult, type PageState } from './protocol';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Starting the dev server and Chromium, and loading a page (the dev server transforms modules on first request). */
const SETUP_MS = 90_000;
/** How long past its own timeout a case may run before the runner stops waiting for the page. */
const GRACE_MS = 15_000;
const POLL_MS = 250;

interface Entry {
  family: string;
  name: string;
  timeout: number;
  title: string;
}

const entries: Entry[] = Object.entries(suites).flatMap(([family, cases]) =>
  cases.map((c) => ({ family, name: c.name, timeout: c.timeout ?? DEFAULT_CASE_TIMEOUT, title: `[chromium] ${family} › ${c.name}` })),
);
const HEALTH_TITLE = '[chromium] page › finds a WebGPU adapter, runs the cases, no uncaught errors';
const APP_TITLE = '[chromium] index.html › reports the WebGPU adapter';

let server: ViteDevServer | undefined;
let chromium: Chromium | undefined;
let baseUrl = '';
/** Why the run could not start or finish; every test without a result of its own fails with it. */
let runError: Error | undefined;
let finalState: PageState | undefined;
const results = new Map<string, CaseResult>();
/** Uncaught exceptions and unhandled rejections in any page. */
const pageErrors: string[] = [];
/** console.error messages and failed loads in any page. */
const consoleErrors: string[] = [];

function key(family: string, name: string): string {
  return `${family}\u0000${name}`;
}

function diagnostics(): string {
  const lines = [
    ...pageErrors.map((e) => `  uncaught in the page: ${e}`),
    ...consoleErrors.map((e) => `  console error: ${e}`),
  ];
  return lines.length ? `\n${lines.join('\n')}` : '';
}

async function startServer(): Promise<void> {
  server = await createServer({
    configFile: join(ROOT, 'vite.config.ts'),
    root: ROOT,
    logLevel: 'error',
    clearScreen: false,
    // No file watching: an edit elsewhere in the checkout must not reload the page mid-run.
    server: { host: '127.0.0.1', port: 0, strictPort: true, watch: null },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('the vite dev server started but reports no local URL');
  baseUrl = url;
}

async function startBrowser(): Promise<void> {
  // The runner enforces its own deadlines (readState); puppeteer's must not fire before them.
  chromium = await launchChromium({ protocolTimeout: SETUP_MS + Math.max(...entries.map((e) => e.timeout)) + GRACE_MS });
}

async function openPage(): Promise<Page> {
  const page = await chromium!.browser.newPage();
  page.on('pageerror', (error) => {
    if (!(error instanceof Error)) return void pageErrors.push(String(error));
    const where = error.stack?.split('\n').find((line) => /^\s+at /.test(line))?.trim();
    pageErrors.push(where ? `${error.message} (${where})` : error.message);
  });
  page.on('error', (error) => pageErrors.push(`the page crashed: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error') consoleErrors.push(text);
    else if (text.startsWith('[shadergrad] ')) process.stdout.write(`[chromium] ${text.slice('[shadergrad] '.length)}\n`);
  });
  page.on('requestfailed', (request) => consoleErrors.push(`failed to load ${request.url()}: ${request.failure()?.errorText}`));
  return page;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads window.__shadergrad, or throws `why` if the page does not answer within `ms` (its main thread is busy or stuck). */
async function readState(page: Page, ms: number, why: string): Promise<PageState | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${why}${diagnostics()}`)), ms);
  });
  try {
    return await Promise.race([page.evaluate(() => window.__shadergrad ?? null), limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Loads the test page with the selected cases and waits, watching deadlines, until it reports them all. */
async function runCases(todo: Entry[]): Promise<void> {
  const page = await openPage();
  const query = todo.length === entries.length ? '' : `?${SELECTION_PARAM}=${todo.map((e) => entries.indexOf(e)).join(',')}`;
  await page.goto(`${baseUrl}test/browser/index.html${query}`, {
    waitUntil: 'load',
    timeout: SETUP_MS,
  });
  let current = '';
  let deadline = Date.now() + SETUP_MS;
  let overdue = `the test page did not start within ${SETUP_MS} ms`;
  for (;;) {
    if (!chromium!.browser.connected) throw new Error(`Chromium exited during the run${diagnostics()}`);
    // A case may keep the page's main thread busy (a float64 reference) until its own deadline.
    const state = await readState(page, Math.max(deadline - Date.now(), 5_000), overdue);
    if (state) for (const r of state.results) results.set(key(r.family, r.name), r);
    if (state?.status === 'done') {
      finalState = state;
      break;
    }
    if (state?.status === 'error') {
      finalState = state;
      throw new Error(`the test page failed: ${state.error}${diagnostics()}`);
    }
    if ((!state || state.status === 'loading') && (pageErrors.length || consoleErrors.length)) {
      // The module has not run: an import failed (a console error) or it threw while loading (a page error).
      throw new Error(`the test page failed to load${diagnostics()}`);
    }
    if (state?.current) {
      const now = `${state.current.family} › ${state.current.name}`;
      if (now !== current) {
        current = now;
        deadline = Date.now() + state.current.timeout + GRACE_MS;
        overdue = `"${now}" ran past its ${state.current.timeout} ms timeout and the page did not stop it`;
      }
    }
    if (Date.now() > deadline) throw new Error(`${overdue}${diagnostics()}`);
    await sleep(POLL_MS);
  }
  await page.close();
}

beforeAll(async ({}, suite) => {
  // Run in the page only the cases vitest will report (`-t` marks the others skipped).
  const selected = new Set(suite.tasks.filter((t) => t.mode === 'run' || t.mode === 'only').map((t) => t.name));
  const todo = entries.filter((e) => selected.has(e.title));
  try {
    await startServer();
    await startBrowser();
    if (todo.length || selected.has(HEALTH_TITLE)) await runCases(todo);
  } catch (error) {
    runError = error instanceof Error ? error : new Error(String(error));
  }
}, SETUP_MS + entries.reduce((sum, e) => sum + e.timeout + GRACE_MS, 0));

afterAll(async () => {
  await chromium?.close();
  await server?.close();
});

for (const entry of entries) {
  it(entry.title, () => {
    const result = results.get(key(entry.family, entry.name));
    if (!result) throw runError ?? new Error('the test page reported no result for this case');
    if (!result.ok) {
      const stack = result.stack?.split('\n').filter((line) => /^\s+at /.test(line)).join('\n');
      throw new Error(`in Chromium: ${result.error}${stack ? `\n${stack}` : ''}`);
    }
  });
}

it(HEALTH_TITLE, () => {
  if (runError) throw runError;
  expect(finalState?.status).toBe('done');
  expect(finalState?.adapter, 'the page found a WebGPU adapter').toBeTruthy();
  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
  expect(consoleErrors, 'console errors in the page').toEqual([]);
});

it(APP_TITLE, async () => {
  if (!chromium) throw runError ?? new Error('Chromium did not start');
  const [pageErrorsBefore, consoleErrorsBefore] = [pageErrors.length, consoleErrors.length];
  const page = await openPage();
  await page.goto(baseUrl, { waitUntil: 'load', timeout: SETUP_MS });
  // Ready: the adapter found and the data loaded (Train enabled), or an error.
  await page.waitForFunction(
    () =>
      document.querySelector('[data-testid="status"]')?.textContent === 'error' ||
      document.querySelector<HTMLButtonElement>('[data-testid="train"]')?.disabled === false,
    { timeout: SETUP_MS },
  );
  const status = await page.$eval('[data-testid="status"]', (e) => e.textContent);
  const error = await page.$eval('[data-testid="error"]', (e) => e.textContent);
  expect(status, `index.html reports an error: ${error}`).toBe('idle');
  expect(await page.$eval('[data-testid="adapter"]', (e) => e.textContent)).toMatch(/[^\s…]/);
  await page.close();
  const errors = [...pageErrors.slice(pageErrorsBefore), ...consoleErrors.slice(consoleErrorsBefore)];
  expect(errors, 'uncaught or console errors in index.html').toEqual([]);
}, SETUP_MS);
