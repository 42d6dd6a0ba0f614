// Fashion-MNIST: the IDX files from a directory or URL (default: Debian's copy, the downloaded cache, or the shipped sample), as host bytes or as GPU tensors.

import type { Engine } from '../engine/engine';
import { isNode, nodeBuiltin } from '../node-builtins';
import type { Tensor } from '../tensor';
import { checkOptions } from '../options';
import { concatChunks } from './bytes';
import { loadIdx, type IdxArray } from './idx';
import { DEBIAN_FASHION_MNIST_DIR, hasFashionMnistFiles, nodeFashionMnistCacheDir } from './fashion-mnist-dirs';
import { ShadergradError, errorMessage } from '../errors';

/** The ten classes, by label. */
export const FASHION_MNIST_CLASSES = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const);

/** Where Debian's package `dataset-fashion-mnist` puts the full dataset (60000 + 10000). */
export { DEBIAN_FASHION_MNIST_DIR };

export type FashionMnistSplit = 'train' | 'test';

export interface FashionMnistOptions {
  split: FashionMnistSplit;
  /** Keep only the first `limit` examples (all of them when there are fewer). */
  limit?: number;
  /**
   * Where the four standard files are (`train-images-idx3-ubyte(.gz)`, `train-labels-idx1-ubyte(.gz)`,
   * `t10k-…`): a directory (Node), a URL base (http:, https:, file:, or relative in the browser), or
   * 'sample' for the subset shipped with shadergrad. Default: in Node, Debian's copy if installed,
   * else the `npm run data` cache (`~/.cache/shadergrad/fashion-mnist`), else the sample; in the
   * browser, the sample.
   */
  source?: string | URL;
  /**
   * Called as each file's bytes arrive (a fetch reports every chunk; a file read in Node reports once,
   * whole): `total` is the file's Content-Length, null when the server does not send one.
   */
  onProgress?: (progress: FashionMnistProgress) => void;
}

export interface FashionMnistProgress {
  /** The file's name, e.g. `train-images-idx3-ubyte.gz`. */
  file: string;
  /** Bytes read so far. */
  loaded: number;
  total: number | null;
}

type OnProgress = ((loaded: number, total: number | null) => void) | undefined;

export interface FashionMnistHost {
  /** count × rows × cols bytes, row-major, 0 = background. */
  images: Uint8Array;
  /** count labels in [0, 10). */
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
  split: FashionMnistSplit;
  /** Where the files were read from. */
  source: string;
}

export interface FashionMnist {
  /** (N, rows·cols) f32 in [0, 1], kept packed on the GPU as 8-bit values (take rows with gatherRows). */
  X: Tensor;
  /** (N) i32 labels. */
  y: Tensor;
  /** The labels on the host. */
  labels: Int32Array;
  classNames: readonly string[];
  count: number;
  source: string;
}

function fileName(split: FashionMnistSplit, kind: 'images' | 'labels'): string {
  const prefix = split === 'train' ? 'train' : 't10k';
  return kind === 'images' ? `${prefix}-images-idx3-ubyte` : `${prefix}-labels-idx1-ubyte`;
}

/** Where `npm run data` downloads the full dataset by default. */
export async function fashionMnistCacheDir(): Promise<string | null> {
  return isNode ? nodeFashionMnistCacheDir() : null;
}

type Located = { read: (name: string, onProgress?: OnProgress) => Promise<Uint8Array | null>; describe: string };

/** A URL-like source: has a scheme of two letters or more (not a Windows drive letter). */
function isUrlLike(source: string): boolean {
  return /^[a-z][a-z0-9+.-]+:/i.test(source);
}

async function readUrl(url: URL | string, op: string, onProgress?: OnProgress): Promise<Uint8Array | null> {
  const href = String(url);
  if (isNode && href.startsWith('file:')) {
    const { fileURLToPath } = await nodeBuiltin<typeof import('node:url')>('node:url');
    return readPath(fileURLToPath(href), onProgress);
  }
  let response: Response;
  try {
    response = await fetch(href);
  } catch (cause) {
    throw new ShadergradError(op, `fetching ${href} failed (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
  }
  // Missing: a 404; a 403 (object stores answer so for a missing key); or a web page (single-page
  // servers answer every unknown path with their index.html), so the plain name is tried next.
  if (response.status === 404 || response.status === 403 || (response.headers.get('content-type') ?? '').includes('text/html')) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok) throw new ShadergradError(op, `fetching ${href} failed: HTTP ${response.status} ${response.statusText}`);
  if (!onProgress || !response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress?.(bytes.length, bytes.length);
    return bytes;
  }
  return readBody(response, href, op, onProgress);
}

/** A response's body chunk by chunk, reporting the bytes read (Content-Length counts them only when the body is not content-encoded). */
async function readBody(response: Response, href: string, op: string, onProgress: NonNullable<OnProgress>): Promise<Uint8Array> {
  const length = Number(response.headers.get('content-length'));
  const total = !response.headers.get('content-encoding') && Number.isSafeInteger(length) && length > 0 ? length : null;
  const reader = response.body!.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  onProgress(0, total);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onProgress(loaded, total);
    }
  } catch (cause) {
    throw new ShadergradError(op, `reading ${href} failed after ${loaded} bytes (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
  }
  return concatChunks(chunks, loaded);
}

async function readPath(path: string, onProgress?: OnProgress): Promise<Uint8Array | null> {
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
  try {
    const buffer = await fs.readFile(path);
    onProgress?.(buffer.byteLength, buffer.byteLength);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') return null;
    // ENOTDIR (the source is a file), EISDIR, EACCES…: say which path, not only the system's words.
    throw new ShadergradError(null, `reading ${path} failed (${code ?? (error as Error).message})`, { cause: error });
  }
}

function sample(split: FashionMnistSplit, op: string): Located {
  return {
    describe: 'the sample shipped with shadergrad',
    read: async (name, onProgress) => {
      const kind = name.includes('images') ? 'images' : 'labels';
      if (!name.endsWith('.gz')) return null;
      const { sampleUrl } = await import('./sample-urls');
      return readUrl(sampleUrl(split, kind), op, onProgress);
    },
  };
}

/** Decides where the files come from. */
async function locate(split: FashionMnistSplit, source: string | URL | undefined, op: string): Promise<Located> {
  if (source === undefined) {
    if (isNode) {
      const cache = await fashionMnistCacheDir();
      for (const dir of [DEBIAN_FASHION_MNIST_DIR, cache!]) if (await hasFashionMnistFiles(dir)) return locate(split, dir, op);
    }
    return sample(split, op);
  }
  if (source === 'sample') return sample(split, op);
  if (source instanceof URL || isUrlLike(source) || !isNode) {
    let base = String(source);
    if (!base.endsWith('/')) base += '/';
    // A relative base resolves against the page (or the worker's script).
    const page = typeof document !== 'undefined' ? document.baseURI : (globalThis as { location?: { href: string } }).location?.href;
    const resolved = !isUrlLike(base) && page ? new URL(base, page).href : base;
    return { describe: resolved, read: (name, onProgress) => readUrl(new URL(name, resolved), op, onProgress) };
  }
  const path = await nodeBuiltin<typeof import('node:path')>('node:path');
  const dir = path.resolve(source);
  return { describe: dir, read: (name, onProgress) => readPath(path.join(dir, name), onProgress) };
}

async function readIdxFile(where: Located, name: string, op: string, onProgress?: FashionMnistOptions['onProgress']) {
  for (const candidate of [`${name}.gz`, name]) {
    const bytes = await where.read(candidate, onProgress && ((loaded, total) => onProgress({ file: candidate, loaded, total })));
    if (!bytes) continue;
    try {
      return await loadIdx(bytes);
    } catch (cause) {
      throw new ShadergradError(op, `${candidate} in ${where.describe}: ${errorMessage(cause)}`, { cause });
    }
  }
  throw new ShadergradError(
    op,
    `neither ${name}.gz nor ${name} is in ${where.describe}` +
      (isNode ? " (`npm run data` downloads the full dataset; the subset shipped with shadergrad is source 'sample', `shadergrad train --data sample`)" : ''),
  );
}

/** Reads a split on the host: the raw image bytes and labels (the page draws the images). */
export function loadFashionMnist(options: FashionMnistOptions): Promise<FashionMnistHost> {
  return readSplit(options, 'loadFashionMnist');
}

async function readSplit(options: FashionMnistOptions, op: string): Promise<FashionMnistHost> {
  checkOptions(op, options, ['split', 'limit', 'source', 'onProgress']);
  const { split, limit } = options;
  if (split !== 'train' && split !== 'test') throw new ShadergradError(op, `split must be 'train' or 'test', got ${String(split)}`);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
    throw new ShadergradError(op, `limit must be a positive integer, got ${limit}`);
  }
  const where = await locate(split, options.source, op);
  // Both files load at once; a failure is reported for the images first, then the labels, so the
  // message does not depend on which read happened to finish first.
  const settled = await Promise.allSettled([
    readIdxFile(where, fileName(split, 'images'), op, options.onProgress),
    readIdxFile(where, fileName(split, 'labels'), op, options.onProgress),
  ]);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  const [images, labels] = settled.map((result) => (result as PromiseFulfilledResult<IdxArray>).value) as [IdxArray, IdxArray];
  if (images.dtype !== 'u8' || images.shape.length !== 3) {
    throw new ShadergradError(op, `${fileName(split, 'images')} holds ${images.dtype} [${images.shape.join(', ')}], expected u8 (N, rows, cols)`);
  }
  if (labels.dtype !== 'u8' || labels.shape.length !== 1) {
    throw new ShadergradError(op, `${fileName(split, 'labels')} holds ${labels.dtype} [${labels.shape.join(', ')}], expected u8 (N)`);
  }
  const [n, rows, cols] = images.shape as [number, number, number];
  if (labels.shape[0] !== n) throw new ShadergradError(op, `${n} images but ${labels.shape[0]} labels in ${where.describe}`);
  const count = Math.min(n, limit ?? n);
  // A copy when limited: a view would keep the whole decompressed file (47 MB for train) alive.
  const labelBytes = (count < n ? labels.data.slice(0, count) : labels.data) as Uint8Array;
  const bad = labelBytes.findIndex((l) => l >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) throw new ShadergradError(op, `label ${labelBytes[bad]} at index ${bad} is outside [0, 10)`);
  return {
    images: count < n ? (images.data as Uint8Array).slice(0, count * rows * cols) : (images.data as Uint8Array),
    labels: labelBytes,
    count,
    rows,
    cols,
    split,
    source: where.describe,
  };
}

/**
 * Loads a split onto the GPU: X (N, 784) f32 in [0, 1] kept packed as 8-bit values (the full
 * training set takes 47 MB instead of 188), y (N) i32.
 */
export async function fashionMnist(engine: Engine, options: FashionMnistOptions): Promise<FashionMnist> {
  const host = await readSplit(options, 'fashionMnist');
  const labels = Int32Array.from(host.labels);
  const X = engine.tensorUnorm8(host.images, [host.count, host.rows * host.cols]);
  let y: Tensor;
  try {
    y = engine.tensor(labels, [host.count]);
  } catch (error) {
    X.dispose();
    throw error;
  }
  return { X, y, labels, classNames: FASHION_MNIST_CLASSES, count: host.count, source: host.source };
}
