// Finds a WebGPU implementation: navigator.gpu in the browser, Dawn's `webgpu` package in Node.

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

export const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

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
      throw new Error(
        'shadergrad: this browser has WebGPU but gave no adapter. Enable hardware acceleration, or start ' +
          'Chromium with --enable-unsafe-webgpu (on a machine with no GPU it then uses SwiftShader).',
      );
    }
    return adapter;
  }
  if (!isNode) {
    throw new Error(
      'shadergrad: WebGPU is not available (navigator.gpu is missing). Use a browser with WebGPU ' +
        '(Chrome/Edge 113+, Safari 26+, Firefox 141+), serve the page from https or localhost, or start ' +
        'Chromium with --enable-unsafe-webgpu.',
    );
  }
  return requestNodeAdapter(options, withDefaultToggles(request.dawnOptions ?? []));
}

/**
 * Dawn zero-fills every workgroup's memory before a kernel runs unless told not to. shadergrad's
 * kernels write their workgroup memory before reading it, and the zeroing code made SwiftShader
 * compile a training step's kernels 4× slower (11 s → 2.6 s) and run them ~25% slower. Chromium
 * keeps its own setting; `dawnOptions` can turn the zeroing back on
 * ('disable-dawn-features=disable_workgroup_init').
 */
function withDefaultToggles(options: string[]): string[] {
  if (options.some((o) => o.includes('disable_workgroup_init'))) return options;
  const enable = options.find((o) => o.startsWith('enable-dawn-features='));
  if (!enable) return [...options, 'enable-dawn-features=disable_workgroup_init'];
  return options.map((o) => (o === enable ? `${o},disable_workgroup_init` : o));
}

async function requestNodeAdapter(options: GPURequestAdapterOptions, dawnOptions: string[]): Promise<GPUAdapter> {
  const moduleName = 'webgpu';
  let dawn: { create(options: string[]): GPU };
  try {
    dawn = (await import(/* @vite-ignore */ moduleName)) as typeof dawn;
  } catch (cause) {
    throw new Error("shadergrad: in Node, WebGPU comes from the npm package 'webgpu' (Dawn): run `npm install webgpu`.", {
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
  throw new Error(`shadergrad: Dawn (the 'webgpu' package) found no WebGPU adapter. ${hints.join('; ')}.`);
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
