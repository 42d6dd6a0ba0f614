// Where the full Fashion-MNIST may be on this machine (Debian's package, the `npm run data` cache), Node only; no relative imports, so vite.config.ts loads it too (vite.datasets.ts).

/** Where Debian's package `dataset-fashion-mnist` puts the full dataset (60000 + 10000). */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist/';

/** The four files, each `<name>.gz` or `<name>`. */
export const FASHION_MNIST_FILE_NAMES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;

/** A Node built-in imported at run time, as node-builtins.ts does: browser bundles never see it. */
async function builtin<T>(name: 'node:fs' | 'node:os' | 'node:path'): Promise<T> {
  const specifier: string = name;
  return (await import(/* @vite-ignore */ specifier)) as T;
}

/** Where `npm run data` downloads the full dataset by default: $XDG_CACHE_HOME or ~/.cache, then shadergrad/fashion-mnist (Node only). */
export async function nodeFashionMnistCacheDir(): Promise<string> {
  const path = await builtin<typeof import('node:path')>('node:path');
  const os = await builtin<typeof import('node:os')>('node:os');
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'shadergrad', 'fashion-mnist');
}

/** Whether `dir` holds the four files, each gzipped or not (Node only). */
export async function hasFashionMnistFiles(dir: string): Promise<boolean> {
  const fs = await builtin<typeof import('node:fs')>('node:fs');
  const path = await builtin<typeof import('node:path')>('node:path');
  return FASHION_MNIST_FILE_NAMES.every((name) => fs.existsSync(path.join(dir, `${name}.gz`)) || fs.existsSync(path.join(dir, name)));
}
