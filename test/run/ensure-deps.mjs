// Bootstrap shared by `npm test` and `npm start`: installs node_modules, Chromium and the Vulkan loader when missing.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findChromium } from './chromium.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Thrown when something is missing that this process cannot install; the message says what to do. */
export class MissingDependency extends Error {}

function run(command, args, options = {}) {
  console.log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: ROOT, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/** Runs `npm ci` when node_modules lacks the tools the scripts use (a fresh clone). */
export function ensureNodeModules() {
  const tools = ['vite', 'vitest', 'puppeteer-core', 'webgpu', 'typescript'];
  if (tools.every((name) => existsSync(join(ROOT, 'node_modules', name, 'package.json')))) return;
  console.log('node_modules is missing or incomplete: installing the locked dependencies');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  if (run(npm, ['ci'], { shell: process.platform === 'win32' }) !== 0) {
    throw new MissingDependency('`npm ci` failed: see its output above');
  }
}

/** Whether the dynamic linker can find the Vulkan loader (libvulkan.so.1) that Dawn opens in Node. */
function hasVulkanLoader() {
  for (const ldconfig of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    const result = spawnSync(ldconfig, ['-p'], { encoding: 'utf8' });
    if (!result.error) return /\blibvulkan\.so\.1\b/.test(result.stdout);
  }
  return ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].some((dir) =>
    existsSync(join(dir, 'libvulkan.so.1')),
  );
}

/** The Debian packages the test suites need that this machine lacks (Linux only: elsewhere Dawn uses Metal/D3D). */
function missingSystemPackages() {
  const missing = [];
  let chromium;
  try {
    chromium = findChromium();
  } catch (error) {
    throw new MissingDependency(error.message);
  }
  if (!chromium) missing.push('chromium');
  if (process.platform === 'linux' && !hasVulkanLoader()) missing.push('libvulkan1');
  return missing;
}

/**
 * Makes sure Chromium (the browser suites, and SwiftShader's Vulkan ICD for Node) and the Vulkan
 * loader are installed: as root on Debian/Ubuntu it runs apt-get, otherwise it throws a
 * MissingDependency that says what to install.
 */
export function ensureSystemPackages() {
  const missing = missingSystemPackages();
  if (!missing.length) return;
  const isRoot = process.getuid?.() === 0;
  const hasApt = !spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).error;
  if (isRoot && hasApt) {
    console.log(`missing system packages: ${missing.join(', ')}: installing them with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => run('apt-get', ['install', '-y', ...missing], { env });
    if (install() !== 0 && (run('apt-get', ['update'], { env }) !== 0 || install() !== 0)) {
      throw new MissingDependency(`\`apt-get install -y ${missing.join(' ')}\` failed: see its output above`);
    }
    const still = missingSystemPackages();
    if (still.length) throw new MissingDependency(`still missing after apt-get: ${still.join(', ')}`);
    return;
  }
  const how = hasApt
    ? `sudo apt-get install -y ${missing.join(' ')}`
    : `install ${missing.map((p) => (p === 'chromium' ? 'Chromium or Chrome' : 'the Vulkan loader (libvulkan.so.1)')).join(' and ')} with your system's package manager`;
  throw new MissingDependency(
    `missing: ${missing.join(', ')} (Chromium runs the browser suites and provides SwiftShader, a CPU WebGPU; ` +
      `Dawn needs the Vulkan loader in Node). Run: ${how}` +
      (missing.includes('chromium') ? '\nOr point CHROME_PATH at an installed Chromium/Chrome.' : ''),
  );
}

/**
 * SwiftShader and Chromium complain on every start when XDG_RUNTIME_DIR is unset: gives them a
 * private one and returns it (for the caller to remove), or null when one was already set.
 */
export function ensureRuntimeDir() {
  if (process.env.XDG_RUNTIME_DIR) return null;
  process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'shadergrad-xdg-'));
  return process.env.XDG_RUNTIME_DIR;
}
