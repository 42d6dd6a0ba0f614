// Launches the system Chromium headless through puppeteer-core for the browser suites (with or without WebGPU), and closes it for sure.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { chromiumFlags, findChromium } from '../run/chromium.mjs';

export interface Chromium {
  browser: Browser;
  /** Closes the browser (killing it if it does not exit in 10 s) and deletes its profile. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** false: without --enable-unsafe-webgpu (no WebGPU on Linux, as in an ordinary browser profile). Default true. */
  webgpu?: boolean;
  /** puppeteer's limit on one DevTools call; a runner with its own deadlines sets it above them. */
  protocolTimeout?: number;
  /** More command-line flags. */
  args?: string[];
}

export async function launchChromium({ webgpu = true, protocolTimeout = 180_000, args: extra = [] }: LaunchOptions = {}): Promise<Chromium> {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new Error('no Chromium found: install it (Debian: `apt-get install chromium`) or set CHROME_PATH to a Chromium/Chrome binary');
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'shadergrad-chromium-'));
  const args = [...chromiumFlags().filter((flag) => webgpu || flag !== '--enable-unsafe-webgpu'), ...extra];
  let browser: Browser;
  try {
    browser = await puppeteer.launch({ executablePath, headless: true, userDataDir, args, protocolTimeout });
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    browser,
    close: async () => {
      const child = browser.process();
      await Promise.race([browser.close(), new Promise((resolve) => setTimeout(resolve, 10_000))]).catch(() => undefined);
      if (child && child.exitCode === null) child.kill('SIGKILL');
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
