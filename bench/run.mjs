// `npm run bench -- [--quick] [--node] [--json FILE] [--suite …] [--impl …] [--filter …]`: headless Chromium (default) or Dawn in Node (--node).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumFlags, findChromium } from '../test/run/chromium.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUNDLE = join(ROOT, 'bench/gpu/dist/bench.mjs');
const args = process.argv.slice(2);

/** SwiftShader and Chromium complain on every start without an XDG runtime directory: give them a private one. */
function runtimeDir() {
  if (process.env.XDG_RUNTIME_DIR) return null;
  process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'shadergrad-xdg-'));
  return process.env.XDG_RUNTIME_DIR;
}

/** --node: builds the self-contained bundle (the one bench/gpu/run.sh runs on a GPU machine) and runs it here. */
function runNode() {
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'bench/gpu/vite.config.ts'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (build.status !== 0 || !existsSync(BUNDLE)) {
    console.error('bench: building bench/gpu/dist/bench.mjs failed');
    return 2;
  }
  const run = spawnSync(process.execPath, [BUNDLE, ...args.filter((a) => a !== '--node')], { cwd: ROOT, stdio: 'inherit' });
  return run.status ?? 1;
}

/** Default: a vite dev server serves bench/index.html, puppeteer-core drives the system Chromium on it. */
async function runChromium() {
  const { createServer } = await import('vite');
  const { default: puppeteer } = await import('puppeteer-core');
  const executablePath = findChromium();
  if (!executablePath) {
    console.error('bench: no Chromium found: install it (Debian: apt-get install chromium) or set CHROME_PATH');
    return 2;
  }
  const server = await createServer({
    configFile: join(ROOT, 'bench/vite.config.ts'),
    logLevel: 'error',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: true, watch: null },
  });
  let browser;
  const userDataDir = mkdtempSync(join(tmpdir(), 'shadergrad-bench-chromium-'));
  try {
    // The options are parsed by the same code the page uses (a usage error ends here, before Chromium starts).
    const { parseArgs, toQuery } = await server.ssrLoadModule('/bench/lib/args.ts');
    let options;
    try {
      options = parseArgs(args);
    } catch (error) {
      // --help is an answer, not a usage error.
      if (error.help) {
        console.log(error.message);
        return 0;
      }
      console.error(error.message);
      return 2;
    }
    // The report's folder is made and checked now, not after minutes of benchmarking.
    if (options.json) {
      try {
        const file = resolve(options.json);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(`${file}.probe`, '');
        rmSync(`${file}.probe`, { force: true });
      } catch (error) {
        console.error(`bench: --json ${options.json}: cannot write there (${error.code ?? error.message})`);
        return 2;
      }
    }
    await server.listen();
    const base = server.resolvedUrls?.local[0];
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      userDataDir,
      // Unquantized GPU timestamps (Chromium rounds them to 100 µs otherwise).
      args: [...chromiumFlags(), '--enable-webgpu-developer-features'],
      protocolTimeout: 30 * 60_000,
    });
    const page = await browser.newPage();
    const errors = [];
    page.on('console', (message) => {
      const text = message.text();
      if (text.startsWith('[bench] ')) console.log(text.slice('[bench] '.length));
      else if (message.type() === 'error') errors.push(text);
    });
    page.on('pageerror', (error) => errors.push(error instanceof Error ? error.message : String(error)));
    await page.goto(`${base}bench/index.html?${toQuery(options)}`, { waitUntil: 'load', timeout: 120_000 });
    let state;
    for (;;) {
      state = await page.evaluate(() => window.__bench ?? null);
      if (state && state.status !== 'running') break;
      if (!browser.connected) throw new Error(`Chromium exited during the run ${errors.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    if (state.status === 'error') {
      console.error(`bench: the page failed: ${state.error}${errors.length ? `\n  ${errors.join('\n  ')}` : ''}`);
      return 1;
    }
    const report = state.report;
    const { formatSummary, formatTable } = await server.ssrLoadModule('/bench/lib/report.ts');
    console.log('');
    console.log(formatTable(report));
    console.log('');
    console.log(formatSummary(report));
    if (errors.length) console.log(`console errors in the page:\n  ${errors.join('\n  ')}`);
    if (options.json) {
      const file = resolve(options.json);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`wrote ${file}`);
    }
    return report.checks.some((c) => !c.ok) ? 1 : 0;
  } finally {
    await browser?.close();
    await server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

const made = runtimeDir();
let code;
try {
  code = ['--node', '--table', '--compare'].some((flag) => args.includes(flag)) ? runNode() : await runChromium();
} finally {
  if (made) rmSync(made, { recursive: true, force: true });
}
process.exitCode = code;
