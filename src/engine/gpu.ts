// Finds a WebGPU implementation: navigator.gpu in the browser, Dawn's `webgpu` package in Node.

import { isNode } from '../node-builtins';
import { ShadergradError } from '../errors';

/** Where Debian's and Google's Chromium packages put SwiftShader's Vulkan ICD (a CPU Vulkan). */
const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
  '/usr/share/vulkan/icd.d/vk_swiftshader_icd.json',
];

/** Where a distribution keeps the Vulkan loader that Dawn dlopen()s. */
const VULKAN_LOADERS = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib64/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
  '/usr/local/lib/libvulkan.so.1',
];

/**
 * Every object returned by the `webgpu` package's create(). Dawn aborts the process when one is
 * garbage-collected while an adapter or device made from it lives, so they are kept for good.
 */
const dawnInstances: GPU[] = [];

export interface AdapterRequest {
  powerPreference?: GPUPowerPreference;
  /** Options passed to the `webgpu` package's create() in Node (Dawn toggles). */
  dawnOptions?: string[];
}

/** Returns an adapter, or throws an Error saying what to install or enable. */
export async function requestAdapter(request: AdapterRequest = {}): Promise<GPUAdapter> {
  const options: GPURequestAdapterOptions = { powerPreference: request.powerPreference ?? 'high-performance' };
  if (typeof navigator !== 'undefined' && (navigator as Navigator).gpu && !isNode) {
    const adapter = await navigator.gpu.requestAdapter(options);
    if (!adapter) {
      throw new ShadergradError(
        null,
        'this browser has WebGPU but gave no adapter. Enable hardware acceleration, or start ' +
          'Chromium with --enable-unsafe-webgpu (on a machine with no GPU it then uses SwiftShader).',
      );
    }
    return adapter;
  }
  if (!isNode) {
    throw new ShadergradError(
      null,
      'WebGPU is not available (navigator.gpu is missing). Use a browser with WebGPU ' +
        '(Chrome/Edge 113+, Safari 26+, Firefox 141+), serve the page from https or localhost, or start ' +
        'Chromium with --enable-unsafe-webgpu.',
    );
  }
  return requestNodeAdapter(options, withDefaultToggles(request.dawnOptions ?? []));
}

/**
 * Dawn toggles shadergrad sets in Node unless `dawnOptions` says otherwise:
 * - disable_workgroup_init: Dawn zero-fills every workgroup's memory before a kernel runs.
 *   shadergrad's kernels write their workgroup memory before reading it, and the zeroing made
 *   SwiftShader compile a training step's kernels 4× slower (11 s → 2.6 s) and run them ~25% slower.
 * - timestamp_quantization off: Dawn rounds GPU timestamps (to ~65 µs on an H200) against timing
 *   attacks in browsers; in Node they time kernels (engine.profile, the benchmarks).
 * Chromium keeps its own settings.
 */
function withDefaultToggles(options: string[]): string[] {
  const mentioned = (toggle: string) => options.some((o) => o.includes(toggle));
  const add = (out: string[], flag: 'enable' | 'disable', toggle: string) => {
    const prefix = `${flag}-dawn-features=`;
    const i = out.findIndex((o) => o.startsWith(prefix));
    if (i < 0) return [...out, `${prefix}${toggle}`];
    return out.map((o, j) => (j === i ? `${o},${toggle}` : o));
  };
  let out = [...options];
  if (!mentioned('disable_workgroup_init')) out = add(out, 'enable', 'disable_workgroup_init');
  if (!mentioned('timestamp_quantization')) out = add(out, 'disable', 'timestamp_quantization');
  return out;
}

async function requestNodeAdapter(options: GPURequestAdapterOptions, dawnOptions: string[]): Promise<GPUAdapter> {
  const moduleName = 'webgpu';
  let dawn: { create(options: string[]): GPU };
  try {
    dawn = (await import(/* @vite-ignore */ moduleName)) as typeof dawn;
  } catch (cause) {
    throw new ShadergradError(null, "in Node, WebGPU comes from the npm package 'webgpu' (Dawn): run `npm install webgpu`.", {
      cause,
    });
  }
  const fs = await import(/* @vite-ignore */ 'node:fs');
  const tryCreate = async (): Promise<GPUAdapter | null> => {
    const gpu = dawn.create(dawnOptions);
    dawnInstances.push(gpu);
    return gpu.requestAdapter(options);
  };
  const env = process.env;
  const icdChosen = env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES;
  // With no GPU device, go straight to SwiftShader (probing Mesa's drivers only prints warnings).
  const gpuDriver = icdChosen || process.platform !== 'linux' || hasGpuDevice(fs);
  let adapter = gpuDriver ? await tryCreate() : null;
  if (adapter && !isLavapipe(adapter)) return adapter;
  if (!icdChosen) {
    // No GPU driver answered: fall back to SwiftShader's ICD, shipped with Chromium.
    const icd = SWIFTSHADER_ICDS.find((path) => fs.existsSync(path));
    if (icd) {
      env.VK_ICD_FILENAMES = icd;
      // SwiftShader complains on stderr at start-up when there is no XDG runtime directory.
      if (!env.XDG_RUNTIME_DIR) {
        const { tmpdir } = await import(/* @vite-ignore */ 'node:os');
        env.XDG_RUNTIME_DIR = fs.mkdtempSync(`${tmpdir()}/shadergrad-xdg-`);
      }
      const swift = await tryCreate();
      if (swift) return swift;
    }
  }
  if (adapter) return adapter;
  const loader = process.platform !== 'linux' || VULKAN_LOADERS.some((path) => fs.existsSync(path));
  const hints = [
    !loader && 'the Vulkan loader is missing: `apt-get install libvulkan1`',
    !icdChosen &&
      !SWIFTSHADER_ICDS.some((path) => fs.existsSync(path)) &&
      'no GPU driver answered and SwiftShader was not found: `apt-get install chromium` (it ships ' +
        '/usr/lib/chromium/vk_swiftshader_icd.json), or install your GPU vendor\'s Vulkan driver',
    icdChosen && `VK_ICD_FILENAMES/VK_DRIVER_FILES is set to ${icdChosen}: check that the file exists and its driver loads`,
  ].filter(Boolean);
  throw new ShadergradError(null, `Dawn (the 'webgpu' package) found no WebGPU adapter. ${hints.join('; ')}.`);
}

/** Whether Linux shows a GPU device node (DRM render node, or NVIDIA's) a Vulkan driver could use. */
function hasGpuDevice(fs: typeof import('node:fs')): boolean {
  try {
    if (fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'))) return true;
  } catch {
    // no DRM devices
  }
  return fs.existsSync('/dev/nvidia0') || fs.existsSync('/dev/dxg');
}

/** Mesa's lavapipe advertises Vulkan but Dawn cannot run on it; treat it as "no adapter". */
function isLavapipe(adapter: GPUAdapter): boolean {
  const info = adapter.info;
  return /llvmpipe|lavapipe/i.test(`${info.description} ${info.device} ${info.architecture}`);
}
