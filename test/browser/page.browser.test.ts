// The page (index.html) built as a static site and served by `vite preview`, in headless Chromium: trains the Fashion-MNIST sample and the spiral, round-trips a checkpoint, resumes after a lost device, and explains a missing WebGPU.

import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium, type Chromium } from './launch';

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

it('trains the Fashion-MNIST sample with ?autostart=1&epochs=2: done, val acc ≥ 0.75, predictions and confusion matrix drawn, no errors', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?autostart=1&epochs=2');
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
    await screenshot(page, 'fashion');
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS + SETUP_MS);

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
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await page.click('[data-testid="download"]');
    const deadline = Date.now() + 30_000;
    let file = '';
    while (!file && Date.now() < deadline) {
      file = readdirSync(downloads).find((f) => f.endsWith('.safetensors')) ?? '';
      if (!file) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(file, 'a downloaded .safetensors file').toMatch(/^shadergrad-spiral-epoch40\.safetensors$/);
    await page.goto(`${baseUrl}?dataset=spiral`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelector<HTMLInputElement>('[data-testid="load"]')?.disabled === false, { timeout: SETUP_MS });
    const input = await page.$('[data-testid="load"]');
    await (input as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(join(downloads, file));
    await page.waitForFunction(() => /Loaded/.test(document.getElementById('notice')?.textContent ?? ''), { timeout: SETUP_MS, polling: 250 });
    expect(await text(page, 'status')).toBe('idle');
    expect(Number(await text(page, 'val-acc')), 'the loaded model is evaluated').toBeGreaterThanOrEqual(0.9);
    expect(await page.$eval('[data-testid="train"]', (b) => b.textContent)).toBe('Continue');
    await page.click('[data-testid="train"]');
    await expectDone(page, TRAIN_MS);
    expect(Number(await text(page, 'epoch')), 'trained 40 more epochs').toBe(80);
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
}, 2 * TRAIN_MS + SETUP_MS);

it('resumes on a new device from the last epoch when the GPU device is lost', async () => {
  const { page, errors } = await open(chromium!.browser, baseUrl, '?dataset=spiral&epochs=12&autostart=1');
  try {
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="epoch"]')?.textContent) >= 4, { timeout: TRAIN_MS, polling: 100 });
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
    // Chromium itself reports the destroyed device's failed work; the page must add nothing uncaught.
    expect(errors.filter((e) => e.startsWith('uncaught'))).toEqual([]);
  } finally {
    await page.close();
  }
}, TRAIN_MS + SETUP_MS);

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
  for (const name of ['fashion', 'spiral', 'device-lost', 'no-adapter', 'no-webgpu']) expect(existsSync(join(ARTIFACTS, `${name}.png`)), name).toBe(true);
});
