// Finds the system Chromium and the flags that give headless Chromium WebGPU (SwiftShader where there is no GPU).

import { existsSync } from 'node:fs';

/** Where Debian, Ubuntu and Google's packages install Chromium/Chrome. */
export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/**
 * The Chromium to drive: $CHROME_PATH or $PUPPETEER_EXECUTABLE_PATH when set (an error if that file
 * is missing), else the first installed candidate, else null.
 */
export function findChromium() {
  for (const name of ['CHROME_PATH', 'PUPPETEER_EXECUTABLE_PATH']) {
    const path = process.env[name];
    if (path) {
      if (!existsSync(path)) throw new Error(`${name} is set to ${path}, which does not exist`);
      return path;
    }
  }
  return CHROMIUM_CANDIDATES.find((path) => existsSync(path)) ?? null;
}

/**
 * Command-line flags for a headless test browser with WebGPU on a machine with no network: no
 * background traffic (Chromium otherwise logs refused connections), no sandbox as root (Chromium
 * refuses to start otherwise). Headless mode and the profile directory are puppeteer's `headless`
 * and `userDataDir` options.
 */
export function chromiumFlags() {
  return [
    '--enable-unsafe-webgpu',
    '--disable-gpu-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  ];
}
