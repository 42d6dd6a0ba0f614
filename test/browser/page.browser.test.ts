// The page (index.html) built as a static site and served by `vite preview`, in headless Chromium: trains the Fashion-MNIST sample, the full set the server serves, and the spiral, round-trips a checkpoint, resumes after a lost device, and explains a missing WebGPU.

import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/index';
import { launchChromium, type Chromium } from './launch';
import { FASHION_MNIST_DIR_ENV, FASHION_MNIST_FILES, fashionMnistServedDir } from '../../vite.datasets.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Screenshots and downloads (test-artifacts/ is gitignored). */
const ARTIFACTS = join(ROOT, 'test-artifacts', 'page');
/**
 * The build under test: what `npm run build` writes to dist/page, built here into a folder of its
 * own so that another `npm run build` in the same checkout cannot empty it mid-test.
 */
const DIST = join(ARTIFACTS, 'dist');
const SETUP_MS = 120_000;
/** SwiftShader on two shared cores: the Fashion-MNIST run takes about a minute, compiling included. */
const TRAIN_MS = 420_000;
const STATUS = '[data-testid="status"]';
/** Where the preview server takes the full Fashion-MNIST from (Debian's dataset-fashion-mnist here and in CI), or null. */
const FULL_DIR = await fashionMnistServedDir();
const NO_FULL_SET = `no full Fashion-MNIST to serve: install Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), run \`npm run data\` or set ${FASHION_MNIST_DIR_ENV}`;

let server: PreviewServer | undefined;
let chromium: Chromium | undefined;
let baseUrl = '';

beforeAll(async () => {
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  await build({ configFile: join(ROOT, 'vite.config.ts'), root: ROOT, logLevel: 'error', build: { outDir: DIST, emptyOutDir: true } });
  server = await preview({
    configFile: join(ROOT, 'vite.config.ts'),
    root: ROOT,
    logLevel: 'error',
    build: { outDir: DIST },
    // shadergrad.test: the insecure-origin case maps this name to 127.0.0.1.
    preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false, allowedHosts: ['shadergrad.test'] },
  });
  baseUrl = server.resolvedUrls?.local[0] ?? '';
  if (!baseUrl) throw new Error('vite preview started but reports no local URL');
  chromium = await launchChromium({ protocolTimeout: TRAIN_MS });
}, SETUP_MS);

afterAll(async () => {
  await chromium?.close();
  await server?.close();
});

/** A page whose uncaught exceptions, console errors and failed requests are collected. */
async function open(browser: Browser, url: string, query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 1000 });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`uncaught: ${error instanceof Error ? error.message : String(error)}`));
  page.on('console', (message) => {
    // Without the full set (or its .gz names) the page's requests for it get 404s, which Chromium logs: expected.
    if (message.location().url?.includes('/datasets/fashion-mnist/') && / 404 /.test(message.text())) return;
    if (message.type() === 'error') errors.push(`console error: ${message.text()}`);
  });
  page.on('requestfailed', (request) => errors.push(`failed to load ${request.url()}: ${request.failure()?.errorText}`));
  await page.goto(`${url}${query}`, { waitUntil: 'load', timeout: SETUP_MS });
  return { page, errors };
}

async function text(page: Page, testId: string): Promise<string> {
  return page.$eval(`[data-testid="${testId}"]`, (e) => e.textContent ?? '');
}

/** Waits until the status is one of `statuses`; returns it (the error's text is in the failure message otherwise). */
async function waitForStatus(page: Page, statuses: string[], timeout: number): Promise<string> {
  try {
    await page.waitForFunction((selector, wanted) => wanted.includes(document.querySelector(selector)?.textContent ?? ''), { timeout, polling: 500 }, STATUS, statuses);
  } catch (error) {
    const [status, message, phase] = await Promise.all([text(page, 'status'), text(page, 'error'), page.$eval('#phase', (e) => e.textContent)]);
    throw new Error(`status stayed "${status}" (${phase}) instead of ${statuses.join(' | ')}${message ? `: ${message}` : ''}`, { cause: error });
  }
  return text(page, 'status');
}

async function expectDone(page: Page, timeout: number): Promise<void> {
  const status = await waitForStatus(page, ['done', 'error'], timeout);
  expect(status, `the page failed: ${await text(page, 'error')}`).toBe('done');
}

/** Clicks Download and returns the name of the .safetensors file that lands in `dir`. */
async function downloadCheckpoint(page: Page, dir: string): Promise<string> {
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir });
  await page.click('[data-testid="download"]');
  const deadline = Date.now() + 30_000;
  let file = '';
  while (!file && Date.now() < deadline) {
    file = readdirSync(dir).find((f) => f.endsWith('.safetensors')) ?? '';
    if (!file) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return file;
}

/** Opens a fresh spiral page, loads a checkpoint file into it and waits for its "Loaded" notice; returns the file input. */
async function loadIntoSpiralPage(page: Page, path: string): Promise<{ uploadFile(path: string): Promise<void> }> {
  await page.goto(`${baseUrl}?dataset=spiral`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.querySelector<HTMLInputElement>('[data-testid="load"]')?.disabled === false, { timeout: SETUP_MS });
  const input = (await page.$('[data-testid="load"]')) as unknown as { uploadFile(path: string): Promise<void> };
  await input.uploadFile(path);
  await page.waitForFunction(() => /Loaded/.test(document.getElementById('notice')?.textContent ?? ''), { timeout: SETUP_MS, polling: 250 });
  return input;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) as `${string}.png`, fullPage: true });
}

it('the build emits the shipped sample as files next to the page, not inlined', () => {
  const assets = readdirSync(join(DIST, 'assets'));
  for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    expect(assets.some((file) => file.startsWith(name) && file.endsWith('.gz')), `${name}*.gz in ${assets.join(', ')}`).toBe(true);
  }
  for (const file of assets.filter((f) => f.endsWith('.js'))) {
    expect(statSync(join(DIST, 'assets', file)).size, file).toBeLessThan(400_000);
  }
});

it('trains the Fashion-MNIST sample with ?dataset=fashion&autostart=1&epochs=2: done, val acc ≥ 0.75, predictions and confusion matrix drawn, no errors', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=fashion&autostart=1&epochs=2');
  const started = Date.now();
  try {
    await expectDone(page, TRAIN_MS);
    const seconds = (Date.now() - started) / 1000;
    const [epoch, loss, trainAcc, valAcc, rate, adapter] = await Promise.all(
      ['epoch', 'loss', 'train-acc', 'val-acc', 'samples-per-sec', 'adapter'].map((id) => text(page, id)),
    );
    console.log(`[page] Fashion-MNIST: done in ${seconds.toFixed(0)} s: epoch ${epoch}, loss ${loss}, train acc ${trainAcc}, val acc ${valAcc}, ${rate} samples/s on ${adapter}`);
    expect(Number(epoch)).toBe(2);
    expect(Number(valAcc)).toBeGreaterThanOrEqual(0.75);
    expect(Number(loss)).toBeGreaterThan(0);
    expect(Number(rate)).toBeGreaterThan(0);
    const view = await page.evaluate(() => ({
      tiles: document.querySelectorAll('.tile.right, .tile.wrong').length,
      confusion: [...document.querySelectorAll('table.confusion td.diag')].reduce((sum, td) => sum + Number(td.textContent || 0), 0),
      charts: document.querySelectorAll('.chart canvas').length,
      url: location.search,
    }));
    expect(view.tiles, 'labelled validation images').toBe(30);
    expect(view.confusion / 1000, 'the confusion matrix diagonal is the val accuracy').toBeGreaterThanOrEqual(0.75);
    expect(view.charts, 'two uPlot charts').toBe(2);
    expect(view.url, 'the URL mirrors the settings').toContain('epochs=2');
    expect(view.url).toContain('dataset=fashion&');
    await screenshot(page, 'fashion');
    // Its checkpoint, loaded into a page that opened another dataset (the full set where it is
    // served), continues on the data it was trained on: the sample (39 iterations per epoch).
    const downloads = join(ARTIFACTS, 'downloads-fashion');
    rmSync(downloads, { recursive: true, force: true });
    mkdirSync(downloads, { recursive: true });
    const file = await downloadCheckpoint(page, downloads);
    expect(file).toBe('shadergrad-fashion-epoch2.safetensors');
    const input = await loadIntoSpiralPage(page, join(downloads, file));
    expect(await page.evaluate(() => location.search)).toMatch(/dataset=fashion&/);
    expect(await text(page, 'epoch')).toBe('2');
    // A file that does not name the page's dataset (the CLI's) is placed by the training images it
    // counts; a count that fits neither the sample nor the full set is refused, and says so.
    const decoded = decodeSafetensors(readFileSync(join(downloads, file)));
    const { dataset: _dataset, ...unnamed } = decoded.metadata;
    const tensors = Object.fromEntries(Object.entries(decoded.tensors).map(([name, t]) => [name, { data: t.data as Float32Array | Int32Array, shape: t.shape }]));
    for (const [name, trainSamples] of [['as-the-cli-writes', '5000'], ['other-data', '1234']] as const) {
      writeFileSync(join(downloads, `${name}.safetensors`), encodeSafetensors(tensors, { ...unnamed, trainSamples, data: '/somewhere/fashion-mnist' }));
    }
    await input.uploadFile(join(downloads, 'as-the-cli-writes.safetensors'));
    await page.waitForFunction(() => /Loaded as-the-cli-writes/.test(document.getElementById('notice')?.textContent ?? ''), { timeout: SETUP_MS, polling: 250 });
    expect(await page.evaluate(() => location.search)).toMatch(/dataset=fashion&/);
    await input.uploadFile(join(downloads, 'other-data.safetensors'));
    await page.waitForFunction(() => /Could not load/.test(document.querySelector('[data-testid="error"]')?.textContent ?? ''), { timeout: SETUP_MS, polling: 200 });
    expect(await text(page, 'error')).toMatch(
      /^Could not load other-data\.safetensors: It was trained on 1,234 training images: neither the Fashion-MNIST sample \(5,000 training images\) nor the full set \([\d,]+\)/,
    );
    expect(await text(page, 'epoch'), 'the loaded run stays').toBe('2');
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS + SETUP_MS);

/** A request with its path sent exactly as written (fetch would resolve `..`): status, content type and body. */
function rawRequest(path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('latin1') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

it('the preview server serves the full Fashion-MNIST at /datasets/fashion-mnist/ (the files themselves, typed and sized) and refuses every other path there', async (context) => {
  context.skip(!FULL_DIR, NO_FULL_SET);
  const dir = FULL_DIR!;
  let served = 0;
  for (const name of FASHION_MNIST_FILES) {
    const file = join(dir, name);
    const response = await fetch(new URL(`datasets/fashion-mnist/${name}`, baseUrl), { method: 'HEAD' });
    if (!existsSync(file)) {
      expect(response.status, `${name} is not in ${dir}`).toBe(404);
      continue;
    }
    served++;
    expect(response.status, name).toBe(200);
    expect(response.headers.get('content-type'), name).toBe(name.endsWith('.gz') ? 'application/gzip' : 'application/octet-stream');
    expect(Number(response.headers.get('content-length')), name).toBe(statSync(file).size);
  }
  expect(served, 'all four files, gzipped or not').toBeGreaterThanOrEqual(4);
  const labels = FASHION_MNIST_FILES.find((name) => name.startsWith('t10k-labels') && existsSync(join(dir, name)))!;
  const body = new Uint8Array(await (await fetch(new URL(`datasets/fashion-mnist/${labels}`, baseUrl))).arrayBuffer());
  expect(Buffer.from(body).equals(readFileSync(join(dir, labels))), `GET ${labels}: the file's bytes`).toBe(true);

  for (const path of [
    '/datasets/fashion-mnist/../../../../etc/passwd',
    '/datasets/fashion-mnist/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/datasets/fashion-mnist/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/datasets/fashion-mnist//usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz',
    '/datasets/fashion-mnist/',
    '/datasets/fashion-mnist/train-labels-idx1-ubyte.gz.bak',
    '/datasets/fashion-mnist/TRAIN-LABELS-IDX1-UBYTE.GZ',
    '/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz/x',
    '/datasets/mnist/train-labels-idx1-ubyte.gz',
    '/datasets/',
  ]) {
    const { status, type, body: text } = await rawRequest(path);
    expect({ path, status, type }, 'a 404 in plain text, not the SPA fallback (index.html)').toEqual({ path, status: 404, type: 'text/plain; charset=utf-8' });
    expect(text).not.toMatch(/root:|<html/i);
  }
  expect((await rawRequest('/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz', 'POST')).status).toBe(405);
});

it('with the full set served, offers it and makes it the default; ?dataset=fashion-full&epochs=1&autostart=1 downloads it with progress and trains: val acc ≥ 0.8 on 5,000 held-out images', async (context) => {
  context.skip(!FULL_DIR, NO_FULL_SET);
  const browser = chromium!.browser;
  // The page without parameters: the full set is the default, downloaded with its progress shown, without long stalls of the page.
  const first = await open(browser, baseUrl, '');
  try {
    // The phases and progress texts shown, and the main thread's long tasks (the data loads after the load event: first the probe and the GPU).
    await first.page.evaluate(() => {
      const w = window as unknown as { seen: Set<string>; longTasks: number[] };
      w.seen = new Set<string>();
      w.longTasks = [];
      const record = () => w.seen.add(`${document.getElementById('phase')?.textContent} | ${document.getElementById('progress-text')?.textContent}`);
      new MutationObserver(record).observe(document.querySelector('.overview')!, { subtree: true, childList: true, characterData: true });
      new PerformanceObserver((list) => list.getEntries().forEach((e) => w.longTasks.push(Math.round(e.duration)))).observe({ type: 'longtask', buffered: true });
    });
    await first.page.waitForFunction(() => document.getElementById('phase')?.textContent === 'Ready', { timeout: SETUP_MS, polling: 200 });
    const view = await first.page.evaluate(() => {
      const select = document.querySelector<HTMLSelectElement>('select[name="dataset"]')!;
      return {
        dataset: select.value,
        options: [...select.options].map((o) => `${o.value}: ${o.textContent}`),
        caption: document.getElementById('dataset-caption')?.textContent ?? '',
        confusion: document.getElementById('confusion-title')?.textContent ?? '',
        phases: [...(window as unknown as { seen: Set<string> }).seen],
        longTasks: (window as unknown as { longTasks: number[] }).longTasks,
        load: performance.getEntriesByType('measure').filter((m) => m.name.startsWith('shadergrad: load')).map((m) => Math.round(m.duration)),
      };
    });
    console.log(
      `[page] full set: loaded in ${view.load.join(', ')} ms; main-thread tasks over 50 ms: ${view.longTasks.join(', ') || 'none'}; ` +
        `phases seen: ${view.phases.length} (${view.phases.slice(0, 4).join(' ; ')} … ${view.phases.at(-1)})`,
    );
    // Inflating the 26 MB of training images in one task stalled the page ~200 ms here (SwiftShader's two cores); now it yields every 2 MB.
    expect(Math.max(0, ...view.longTasks), 'the longest main-thread task while loading (ms)').toBeLessThan(500);
    expect(view.dataset, 'the default dataset').toBe('fashion-full');
    expect(view.options).toEqual([
      'fashion-full: Fashion-MNIST (full: 55,000 train / 5,000 val / 10,000 test)',
      'fashion: Fashion-MNIST (sample: 5,000 train / 1,000 val / 1,000 test)',
      'spiral: Spiral (2-D points)',
    ]);
    expect(view.caption).toMatch(/55,000 training, 5,000 validation and 10,000 test images/);
    expect(view.confusion).toBe('Confusion matrix (5,000 validation images)');
    expect(view.phases.some((p) => /^Downloading the full Fashion-MNIST… \| [\d.]+ MB of 3\d MB$/.test(p)), `download progress among ${view.phases.join(' ; ')}`).toBe(true);
    expect(first.errors).toEqual([]);
  } finally {
    await first.page.close();
  }

  const { page, errors } = await open(browser, baseUrl, '?dataset=fashion-full&epochs=1&autostart=1');
  const started = Date.now();
  try {
    await expectDone(page, TRAIN_MS);
    const seconds = (Date.now() - started) / 1000;
    const [epoch, loss, trainAcc, valAcc, rate, phase] = await Promise.all([
      ...['epoch', 'loss', 'train-acc', 'val-acc', 'samples-per-sec'].map((id) => text(page, id)),
      page.$eval('#phase', (e) => e.textContent ?? ''),
    ]);
    const view = await page.evaluate(() => ({
      tiles: document.querySelectorAll('.tile.right, .tile.wrong').length,
      confusion: [...document.querySelectorAll('table.confusion td.diag, table.confusion td.off')].reduce((sum, td) => sum + Number(td.textContent || 0), 0),
      diagonal: [...document.querySelectorAll('table.confusion td.diag')].reduce((sum, td) => sum + Number(td.textContent || 0), 0),
      evaluate: performance.getEntriesByType('measure').filter((m) => m.name.startsWith('shadergrad: evaluate')).map((m) => Math.round(m.duration)),
    }));
    console.log(`[page] full Fashion-MNIST: done in ${seconds.toFixed(0)} s: epoch ${epoch}, loss ${loss}, train acc ${trainAcc}, val acc ${valAcc}, ${rate} samples/s; ${phase}; evaluating 5,000 validation images: ${view.evaluate.join(', ')} ms`);
    expect(Number(epoch)).toBe(1);
    expect(Number(valAcc)).toBeGreaterThanOrEqual(0.8);
    expect(phase).toMatch(/test accuracy \d/);
    expect(view.tiles, 'labelled validation images').toBe(30);
    expect(view.confusion, 'the confusion matrix counts every validation image').toBe(5000);
    expect(view.diagonal / 5000, 'the confusion matrix diagonal is the val accuracy').toBeGreaterThanOrEqual(0.8);
    await screenshot(page, 'fashion-full');
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS + 2 * SETUP_MS);

it('trains the spiral with ?dataset=spiral&autostart=1 and draws its decision regions; a downloaded checkpoint loads back and continues', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=spiral&autostart=1');
  const downloads = join(ARTIFACTS, 'downloads');
  rmSync(downloads, { recursive: true, force: true });
  mkdirSync(downloads, { recursive: true });
  try {
    await expectDone(page, TRAIN_MS);
    const valAcc = Number(await text(page, 'val-acc'));
    console.log(`[page] spiral: val acc ${valAcc}, ${await text(page, 'samples-per-sec')} samples/s`);
    expect(valAcc).toBeGreaterThanOrEqual(0.9);
    // The regions canvas holds the three washed-out class colours behind the points, not one flat fill.
    const colours = await page.$eval('[data-testid="decision-regions"]', (canvas) => {
      const c = canvas as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Map<string, number>();
      for (let i = 0; i < data.length; i += 4) {
        const key = `${data[i]},${data[i + 1]},${data[i + 2]}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      // Colours covering at least 5% of the canvas each: the regions, not the anti-aliased edges.
      return [...seen.values()].filter((n) => n > (c.width * c.height) / 20).length;
    });
    expect(colours, 'large areas of distinct colour (one per predicted class)').toBeGreaterThanOrEqual(3);
    await screenshot(page, 'spiral');

    // Download the trained state, then load it into a fresh page: it evaluates and can train on.
    const file = await downloadCheckpoint(page, downloads);
    expect(file, 'a downloaded .safetensors file').toMatch(/^shadergrad-spiral-epoch40\.safetensors$/);
    const input = await loadIntoSpiralPage(page, join(downloads, file));
    expect(await text(page, 'status')).toBe('idle');
    expect(Number(await text(page, 'val-acc')), 'the loaded model is evaluated').toBeGreaterThanOrEqual(0.9);
    expect(await page.$eval('[data-testid="train"]', (b) => b.textContent)).toBe('Continue');
    // A file that is not a checkpoint is refused, and the loaded run stays as it was.
    const loadedValAcc = await text(page, 'val-acc');
    writeFileSync(join(downloads, 'not-a-checkpoint.safetensors'), Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251));
    await input.uploadFile(join(downloads, 'not-a-checkpoint.safetensors'));
    await page.waitForFunction(() => /Could not load/.test(document.querySelector('[data-testid="error"]')?.textContent ?? ''), { timeout: SETUP_MS, polling: 200 });
    expect(await text(page, 'error')).toMatch(/^Could not load not-a-checkpoint\.safetensors: Not a safetensors file/);
    expect(await text(page, 'status'), 'the run is fine: no error status').toBe('idle');
    expect(await page.$eval('#phase', (e) => e.textContent)).toMatch(/the current run is unchanged/);
    expect(await text(page, 'val-acc'), 'the loaded run is still shown').toBe(loadedValAcc);
    expect(await page.$eval('[data-testid="train"]', (b) => b.textContent)).toBe('Continue');
    expect(await page.$eval('[data-testid="download"]', (b) => (b as HTMLButtonElement).disabled), 'its checkpoint can still be downloaded').toBe(false);
    await page.click('[data-testid="train"]');
    await expectDone(page, TRAIN_MS);
    expect(Number(await text(page, 'epoch')), 'trained 40 more epochs').toBe(80);
    // A field the form refuses (epochs emptied) does not make a good file fail to load: the last valid settings stand in.
    await page.$eval('input[name="epochs"]', (input) => {
      (input as HTMLInputElement).value = '';
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await input.uploadFile(join(downloads, file));
    await page.waitForFunction((name) => new RegExp(`Loaded ${name}`).test(document.getElementById('notice')?.textContent ?? ''), { timeout: SETUP_MS, polling: 200 }, file.replace(/\./g, '\\.'));
    expect(await text(page, 'error'), 'no error with an invalid field in the form').toBe('');
    expect(await page.$eval('input[name="epochs"]', (i) => (i as HTMLInputElement).value), "its 40 epochs and as many again as the last valid settings (80)").toBe('120');
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
}, 2 * TRAIN_MS + SETUP_MS);

it('Reset as the last iteration ends leaves the page idle, not "done" with the discarded run\'s accuracies', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=fashion&epochs=1&hidden=32&batchnorm=0&autostart=1');
  try {
    // Reset in the same task that sees the last iteration shown: the run then still scores its test set.
    await page.waitForFunction(
      () => {
        const at = /^iteration (\d+) of (\d+)$/.exec(document.getElementById('progress-text')?.textContent ?? '');
        if (!at || at[1] !== at[2]) return false;
        document.querySelector<HTMLButtonElement>('[data-testid="reset"]')!.click();
        return true;
      },
      { timeout: TRAIN_MS, polling: 10 },
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await text(page, 'status')).toBe('idle');
    expect(await page.$eval('#phase', (e) => e.textContent)).toBe('Ready');
    expect(await text(page, 'val-acc'), 'no accuracy of the discarded run').toBe('—');
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS);

it('a dataset whose download fails leaves the page as it was (data, run, settings) and offers to try again', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=spiral&epochs=2&hidden=8&autostart=1');
  try {
    await expectDone(page, TRAIN_MS);
    // The sample's files cannot be fetched (a dropped connection).
    await page.setRequestInterception(true);
    const block = (request: import('puppeteer-core').HTTPRequest) => {
      if (/idx\d-ubyte/.test(request.url())) void request.abort('internetdisconnected');
      else void request.continue();
    };
    page.on('request', block);
    await page.select('select[name="dataset"]', 'fashion');
    await page.waitForFunction(() => /Could not load the Fashion-MNIST sample/.test(document.querySelector('[data-testid="error"]')?.textContent ?? ''), { timeout: SETUP_MS, polling: 200 });
    expect(await text(page, 'error')).toMatch(/Check the connection \(or the server\), then try again\.$/);
    expect(await text(page, 'status'), 'the spiral run is still there, done').toBe('done');
    expect(await text(page, 'epoch')).toBe('2');
    expect(await page.$eval('select[name="dataset"]', (s) => (s as HTMLSelectElement).value)).toBe('spiral');
    expect(await page.evaluate(() => location.search), 'its settings, not the defaults').toMatch(/dataset=spiral.*hidden=8.*epochs=2/);
    // The connection is back: Try again loads it.
    page.off('request', block);
    await page.setRequestInterception(false);
    await page.click('[data-testid="retry"]');
    await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === 'idle' && document.getElementById('phase')?.textContent === 'Ready', { timeout: SETUP_MS, polling: 200 }, STATUS);
    expect(await page.evaluate(() => location.search)).toMatch(/dataset=fashion/);
    expect(await text(page, 'error')).toBe('');
    expect(errors.filter((e) => !/failed to load .*idx\d-ubyte|net::ERR_INTERNET_DISCONNECTED|Failed to load resource/.test(e))).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS + SETUP_MS);

it('?autostart=1 with a bad parameter trains with the default and keeps saying which value it ignored', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=spiral&hidden=8&epochs=1&lr=abc&autostart=1');
  try {
    await expectDone(page, TRAIN_MS);
    expect(await page.$eval('#notice', (e) => e.textContent)).toMatch(/^Ignored: .*lr/);
    // The address bar holds what was used: a reload or a shared link does not repeat the ignored value.
    expect(await page.evaluate(() => location.search)).not.toContain('lr=abc');
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS);

it('choosing another dataset loads it even while another field is invalid; the form and URL follow the loaded data', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=spiral');
  try {
    await page.waitForFunction((s) => document.querySelector(s)?.textContent === 'idle' && /Ready/.test(document.getElementById('phase')?.textContent ?? ''), { timeout: SETUP_MS, polling: 200 }, STATUS);
    await page.$eval('input[name="hidden"]', (input) => {
      (input as HTMLInputElement).value = 'abc';
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(await page.$eval('#notice', (e) => e.textContent)).toMatch(/hidden/i);
    await page.select('select[name="dataset"]', 'fashion');
    await page.waitForFunction(() => document.getElementById('visual-title')?.textContent === 'Validation images' && /Ready/.test(document.getElementById('phase')?.textContent ?? ''), {
      timeout: SETUP_MS,
      polling: 200,
    });
    const form = await page.evaluate(() => ({
      hidden: document.querySelector<HTMLInputElement>('input[name="hidden"]')!.value,
      url: location.search,
      notice: document.getElementById('notice')!.textContent,
    }));
    expect(form.hidden, 'the dataset brings its own defaults').not.toBe('abc');
    expect(form.url).toMatch(/dataset=fashion(&|$)/);
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
}, 2 * SETUP_MS);

it('resumes on a new device from the last epoch when the GPU device is lost', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=spiral&epochs=12&autostart=1');
  try {
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="epoch"]')?.textContent) >= 4, { timeout: TRAIN_MS, polling: 100 });
    // Mid-run, after an epoch: the download offers that epoch's checkpoint.
    expect(await page.$eval('[data-testid="download"]', (b) => (b as HTMLButtonElement).disabled), 'download while training').toBe(false);
    await page.evaluate(() => window.shadergradPage!.loseDevice());
    await waitForStatus(page, ['error'], SETUP_MS);
    expect(await text(page, 'error')).toMatch(/GPU device was lost/);
    const resume = await page.$eval('[data-testid="resume"]', (b) => b.textContent ?? '');
    expect(resume).toMatch(/^Resume from epoch [1-9]/);
    await screenshot(page, 'device-lost');
    await page.click('[data-testid="resume"]');
    await expectDone(page, TRAIN_MS);
    expect(Number(await text(page, 'epoch'))).toBe(12);
    expect(Number(await text(page, 'val-acc'))).toBeGreaterThanOrEqual(0.8);
    // Lost again once finished: the trained model comes back as it was, nothing is trained again.
    const valAcc = await text(page, 'val-acc');
    await page.evaluate(() => window.shadergradPage!.loseDevice());
    await waitForStatus(page, ['error'], SETUP_MS);
    expect(await page.$eval('[data-testid="resume"]', (b) => b.textContent ?? '')).toBe('Restore the trained model');
    await page.click('[data-testid="resume"]');
    await expectDone(page, SETUP_MS);
    const trained = await page.evaluate(() => performance.getEntriesByType('measure').filter((m) => m.name.startsWith('shadergrad: evaluate')).length);
    expect(Number(await text(page, 'epoch'))).toBe(12);
    expect(await text(page, 'val-acc'), 'the same best validation accuracy').toBe(valAcc);
    expect(trained, 'the restored model was evaluated').toBeGreaterThan(0);
    // Lost once more, then Reset: the way back (Reconnect) stays on screen.
    await page.evaluate(() => window.shadergradPage!.loseDevice());
    await waitForStatus(page, ['error'], SETUP_MS);
    await page.click('[data-testid="reset"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="resume"]')?.textContent === 'Reconnect', { timeout: SETUP_MS, polling: 200 });
    await page.click('[data-testid="resume"]');
    await page.waitForFunction((s) => document.querySelector(s)?.textContent === 'idle' && /Ready/.test(document.getElementById('phase')?.textContent ?? ''), { timeout: SETUP_MS, polling: 200 }, STATUS);
    // Chromium itself reports the destroyed device's failed work; the page must add nothing uncaught.
    expect(errors.filter((e) => e.startsWith('uncaught'))).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS + SETUP_MS);

it('L2 regularization: the reg field follows the URL, the run trains with it, and its checkpoint brings it back into the form', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=spiral&epochs=2&reg=0.01&autostart=1');
  try {
    const reg = () => page.$eval('input[name="reg"]', (input) => (input as HTMLInputElement).value);
    expect(await reg(), 'the URL parameter in the form').toBe('0.01');
    await expectDone(page, TRAIN_MS);
    const downloads = join(ARTIFACTS, 'downloads-reg');
    rmSync(downloads, { recursive: true, force: true });
    mkdirSync(downloads, { recursive: true });
    const file = await downloadCheckpoint(page, downloads);
    // A fresh page (reg 0 by default) takes the run's reg from the file.
    await loadIntoSpiralPage(page, join(downloads, file));
    expect(await reg(), "the checkpoint's reg in the form").toBe('0.01');
    expect(await page.evaluate(() => location.search)).toMatch(/[?&]reg=0\.01(&|$)/);
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS + SETUP_MS);

it('a checkpoint names its dataset: one paused in epoch 0 on the sample loads back on the sample where the full set is the default', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=fashion&epochs=3&autostart=1');
  try {
    await waitForStatus(page, ['training'], SETUP_MS);
    await page.click('[data-testid="pause"]');
    await page.waitForFunction(() => /^Paused at iteration/.test(document.getElementById('phase')?.textContent ?? ''), { timeout: SETUP_MS, polling: 100 });
    const downloads = join(ARTIFACTS, 'downloads-epoch0');
    rmSync(downloads, { recursive: true, force: true });
    mkdirSync(downloads, { recursive: true });
    const file = await downloadCheckpoint(page, downloads);
    expect(file, 'paused before the first epoch ended').toBe('shadergrad-fashion-epoch0.safetensors');
    expect(decodeSafetensors(readFileSync(join(downloads, file))).metadata.dataset).toBe('fashion');
    // Its iterations cannot tell the sample from the full set before an epoch ends: the name does.
    await loadIntoSpiralPage(page, join(downloads, file));
    expect(await page.evaluate(() => location.search)).toMatch(/dataset=fashion(&|$)/);
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS + SETUP_MS);

it('a long epoch keeps its state now and then: a device lost inside the first epoch resumes from the iteration last kept', async () => {
  // 50 iterations per epoch; the state is kept every 300 ms of training instead of every 10 s.
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=fashion&epochs=2&batch=100&autostart=1');
  try {
    await page.evaluate(() => (window.shadergradPage!.keepEveryMs = 300));
    // Lost inside the first epoch once a state was kept (Download is offered): checked and lost in one task of the page.
    await page.waitForFunction(
      () => {
        const at = /^iteration (\d+) of/.exec(document.getElementById('progress-text')?.textContent ?? '');
        const download = document.querySelector<HTMLButtonElement>('[data-testid="download"]');
        if (!at || Number(at[1]) >= 50 || !download || download.disabled) return false;
        window.shadergradPage!.loseDevice();
        return true;
      },
      { timeout: TRAIN_MS, polling: 20 },
    );
    await waitForStatus(page, ['error'], SETUP_MS);
    const resume = await page.$eval('[data-testid="resume"]', (b) => b.textContent ?? '');
    expect(resume).toMatch(/^Resume from iteration ([1-9]|[1-4]\d)$/);
    expect(await text(page, 'error')).toMatch(/resume on a new device from iteration \d+, where its state was last kept/);
    await page.click('[data-testid="resume"]');
    await expectDone(page, TRAIN_MS);
    expect(Number(await text(page, 'epoch'))).toBe(2);
    expect(Number(await text(page, 'val-acc'))).toBeGreaterThanOrEqual(0.7);
    expect(errors.filter((e) => e.startsWith('uncaught'))).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS + SETUP_MS);

it('a device lost while the first kernels compile shows as lost, never as an ordinary error with Continue offered', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=spiral&epochs=3');
  try {
    await page.waitForFunction(() => document.getElementById('phase')?.textContent === 'Ready', { timeout: SETUP_MS, polling: 50 });
    // Train, and lose the device 50 ms into compiling the first step's kernels.
    await page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const watch = setInterval(() => {
            if (!/compiling/.test(document.getElementById('phase')?.textContent ?? '')) return;
            clearInterval(watch);
            setTimeout(() => {
              window.shadergradPage!.loseDevice();
              resolve();
            }, 50);
          }, 1);
          document.querySelector<HTMLButtonElement>('[data-testid="train"]')!.click();
        }),
    );
    // Every state the page passes through until it says the device is lost.
    const seen = await page.evaluate(async () => {
      const states: string[] = [];
      const until = performance.now() + 15_000;
      while (performance.now() < until) {
        const status = document.querySelector('[data-testid="status"]')?.textContent ?? '';
        const phase = document.getElementById('phase')?.textContent ?? '';
        const train = document.querySelector<HTMLButtonElement>('[data-testid="train"]')!;
        const state = `${status} | ${phase} | train ${train.disabled ? 'off' : train.textContent}`;
        if (states.at(-1) !== state) states.push(state);
        if (phase === 'GPU device lost') break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return states;
    });
    expect(seen.at(-1), seen.join(' ; ')).toMatch(/^error \| GPU device lost/);
    expect(seen.filter((s) => /Stopped by an error|train Continue/.test(s)), seen.join(' ; ')).toEqual([]);
    expect(errors.filter((e) => e.startsWith('uncaught'))).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS);

it('a paused run whose device is lost comes back paused on the new device, at the iteration it was paused at', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=spiral&epochs=40&autostart=1');
  try {
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="epoch"]')?.textContent) >= 3, { timeout: TRAIN_MS, polling: 100 });
    await page.click('[data-testid="pause"]');
    await page.waitForFunction(() => /^Paused at iteration/.test(document.getElementById('phase')?.textContent ?? ''), { timeout: SETUP_MS, polling: 100 });
    const paused = await page.$eval('#phase', (e) => e.textContent ?? '');
    const iteration = /^Paused at iteration ([\d,]+)/.exec(paused)![1]!;
    const epochShown = await text(page, 'epoch');
    await page.evaluate(() => window.shadergradPage!.loseDevice());
    await waitForStatus(page, ['error'], SETUP_MS);
    expect(await page.$eval('[data-testid="resume"]', (b) => b.textContent)).toBe(`Resume from iteration ${iteration}`);
    await page.click('[data-testid="resume"]');
    await page.waitForFunction(() => /^Paused at iteration/.test(document.getElementById('phase')?.textContent ?? ''), { timeout: SETUP_MS, polling: 100 });
    expect(await page.$eval('#phase', (e) => e.textContent), "not back at the epoch's start").toBe(`Paused at iteration ${iteration}`);
    expect(await text(page, 'epoch'), 'the same epoch readout for the same state (epochs completed)').toBe(epochShown);
    expect(await text(page, 'status')).toBe('idle');
    expect(await page.$eval('[data-testid="train"]', (b) => b.textContent)).toBe('Continue');
    expect(await text(page, 'samples-per-sec'), 'no rate before the restored run trains (not the lost one\'s)').toBe('—');
    expect(errors.filter((e) => e.startsWith('uncaught'))).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS);

it('without --enable-unsafe-webgpu (navigator.gpu there, but no adapter) says so and how to enable WebGPU: status error', async () => {
  const plain = await launchChromium({ webgpu: false });
  try {
    const { page, errors } = await open(plain.browser, baseUrl, '?autostart=1');
    // Chromium 156 on Linux exposes navigator.gpu without the flag; its requestAdapter() gives null.
    expect(await page.evaluate(() => 'gpu' in navigator), 'navigator.gpu').toBe(true);
    await waitForStatus(page, ['error'], SETUP_MS);
    const message = await text(page, 'error');
    expect(message).toMatch(/has WebGPU but gave no adapter/);
    expect(message).toMatch(/--enable-unsafe-webgpu/);
    expect(await page.$eval('[data-testid="train"]', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    expect(await page.$eval('select[name="dataset"]', (s) => (s as HTMLSelectElement).disabled), 'nothing to choose without a device').toBe(true);
    expect(await text(page, 'adapter')).toBe('none');
    await screenshot(page, 'no-adapter');
    expect(errors).toEqual([]);
    await page.close();
  } finally {
    await plain.close();
  }
}, 2 * SETUP_MS);

it('served from a plain-http origin that is not localhost (no navigator.gpu: WebGPU needs a secure context) says WebGPU is missing: status error', async () => {
  const port = new URL(baseUrl).port;
  // The host name resolves to the preview server, but the origin is not potentially trustworthy.
  const insecure = await launchChromium({ args: [`--host-resolver-rules=MAP shadergrad.test 127.0.0.1`] });
  try {
    const { page, errors } = await open(insecure.browser, `http://shadergrad.test:${port}/`, '?autostart=1');
    expect(await page.evaluate(() => ({ secure: isSecureContext, gpu: 'gpu' in navigator }))).toEqual({ secure: false, gpu: false });
    await waitForStatus(page, ['error'], SETUP_MS);
    const message = await text(page, 'error');
    expect(message).toMatch(/WebGPU is not available \(navigator\.gpu is missing\)/);
    expect(message).toMatch(/https or localhost/);
    await screenshot(page, 'no-webgpu');
    expect(errors).toEqual([]);
    await page.close();
  } finally {
    await insecure.close();
  }
}, 2 * SETUP_MS);

it('writes its screenshots under test-artifacts/page', () => {
  const names = ['fashion', ...(FULL_DIR ? ['fashion-full'] : []), 'spiral', 'device-lost', 'no-adapter', 'no-webgpu'];
  for (const name of names) expect(existsSync(join(ARTIFACTS, `${name}.png`)), name).toBe(true);
});
