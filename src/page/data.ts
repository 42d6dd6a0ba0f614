// The page's datasets on the host (Fashion-MNIST in full when the server has it, its shipped sample, or the spiral) and their upload to an Engine.

import { datasets, type Engine, type Tensor } from '../index';
import type { DatasetName } from './settings';

/** Examples on the host: rows of `inputDim` features (bytes for images, floats for points) and labels. */
export interface HostSplit {
  X: Uint8Array | Float32Array;
  y: Int32Array;
  count: number;
}

export interface HostData {
  name: DatasetName;
  title: string;
  /** Where the examples came from, for the page's caption. */
  source: string;
  inputDim: number;
  classNames: readonly string[];
  train: HostSplit;
  val: HostSplit;
  /** Held out of training and model selection: scored once training is done. */
  test: HostSplit | null;
  /** Image size, for datasets of images. */
  image: { rows: number; cols: number } | null;
}

export interface GpuData {
  XTrain: Tensor;
  yTrain: Tensor;
  XVal: Tensor;
  yVal: Tensor;
  XTest: Tensor | null;
  yTest: Tensor | null;
  dispose(): void;
}

/**
 * Fashion-MNIST validation images taken from the end of the training file: the sample's 1,000 (at
 * most a fifth), or the full set's 5,000 (at most a tenth, as the CLI holds out).
 */
function validationCount(name: 'fashion' | 'fashion-full', count: number): number {
  return name === 'fashion' ? Math.min(1000, Math.floor(count / 5)) : Math.min(5000, Math.floor(count / 10));
}

const SPIRAL_CLASSES = ['arm 1', 'arm 2', 'arm 3'] as const;

/**
 * Where the full Fashion-MNIST is served, relative to the page: `npm start` and `vite preview` serve
 * it there when the machine has it (vite.datasets.ts); a static host can put the four files there.
 */
const FULL_FASHION_MNIST = 'datasets/fashion-mnist/';

/** The full set's split sizes, as the page will use them. */
export interface FullFashionMnist {
  train: number;
  val: number;
  test: number;
}

/**
 * Whether the full Fashion-MNIST is served beside the page: reads its two label files (35 KB in
 * all), which also give the split sizes. null when they are missing or are not IDX label files (a
 * host that answers every path with its index.html).
 */
export async function probeFullFashionMnist(): Promise<FullFashionMnist | null> {
  const count = async (stem: string): Promise<number | null> => {
    for (const name of [`${stem}.gz`, stem]) {
      const response = await fetch(new URL(FULL_FASHION_MNIST + name, document.baseURI), { signal: AbortSignal.timeout(15_000) });
      if (response.status === 404) continue;
      if (!response.ok) return null;
      const idx = await datasets.loadIdx(await response.arrayBuffer());
      return idx.dtype === 'u8' && idx.shape.length === 1 ? idx.shape[0]! : null;
    }
    return null;
  };
  try {
    const [train, test] = await Promise.all([count('train-labels-idx1-ubyte'), count('t10k-labels-idx1-ubyte')]);
    if (!train || !test) return null;
    const val = validationCount('fashion-full', train);
    return val ? { train: train - val, val, test } : null;
  } catch {
    return null;
  }
}

/** Bytes downloaded so far over all files, and their total once every file's size is known (else null). */
export type LoadProgress = (loaded: number, total: number | null) => void;

export async function loadHostData(name: DatasetName, onProgress?: LoadProgress): Promise<HostData> {
  if (name === 'spiral') {
    const split = (seed: number): HostSplit => {
      const { X, y } = datasets.spiralData({ n: 100, classes: SPIRAL_CLASSES.length, seed });
      return { X, y, count: y.length };
    };
    return {
      name,
      title: 'Spiral',
      source: 'three spiral arms of 100 points (validation: another draw of the noise)',
      inputDim: 2,
      classNames: SPIRAL_CLASSES,
      train: split(1),
      val: split(2),
      test: null,
      image: null,
    };
  }
  const full = name === 'fashion-full';
  const source = full ? FULL_FASHION_MNIST : 'sample';
  // Each file's bytes so far and size (the four files download at once).
  const files = new Map<string, { loaded: number; total: number | null }>();
  const progress = (p: { file: string; loaded: number; total: number | null }) => {
    files.set(p.file, p);
    if (!onProgress) return;
    let loaded = 0;
    let total: number | null = 0;
    for (const f of files.values()) {
      loaded += f.loaded;
      total = total === null || f.total === null ? null : total + f.total;
    }
    onProgress(loaded, files.size === 4 ? total : null);
  };
  const [train, test] = await Promise.all([
    datasets.loadFashionMnist({ split: 'train', source, onProgress: progress }),
    datasets.loadFashionMnist({ split: 'test', source, onProgress: progress }),
  ]);
  const D = train.rows * train.cols;
  const nVal = validationCount(name, train.count);
  const nTrain = train.count - nVal;
  const labels = (bytes: Uint8Array) => Int32Array.from(bytes);
  const counts = `${nTrain.toLocaleString('en-US')} training, ${nVal.toLocaleString('en-US')} validation and ${test.count.toLocaleString('en-US')} test images`;
  return {
    name,
    title: 'Fashion-MNIST',
    source: full ? `the full dataset served with this page (${new URL(FULL_FASHION_MNIST, document.baseURI).pathname}): ${counts}` : `the sample shipped with shadergrad: ${counts}`,
    inputDim: D,
    classNames: datasets.fashionMnistClasses,
    train: { X: train.images.subarray(0, nTrain * D), y: labels(train.labels.subarray(0, nTrain)), count: nTrain },
    val: { X: train.images.subarray(nTrain * D), y: labels(train.labels.subarray(nTrain)), count: nVal },
    test: { X: test.images, y: labels(test.labels), count: test.count },
    image: { rows: train.rows, cols: train.cols },
  };
}

/** Puts the examples on the GPU: images stay 8-bit there (read as [0, 1] floats), points are f32. */
export function uploadData(engine: Engine, data: HostData): GpuData {
  const made: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => (made.push(t), t);
  const upload = (split: HostSplit): [Tensor, Tensor] => {
    const X = split.X instanceof Uint8Array
      ? engine.tensorUnorm8(split.X, [split.count, data.inputDim])
      : engine.tensor(split.X, [split.count, data.inputDim]);
    return [keep(X), keep(engine.tensor(split.y, [split.count]))];
  };
  try {
    const [XTrain, yTrain] = upload(data.train);
    const [XVal, yVal] = upload(data.val);
    const [XTest, yTest] = data.test ? upload(data.test) : [null, null];
    return { XTrain, yTrain, XVal, yVal, XTest, yTest, dispose: () => made.forEach((t) => t.dispose()) };
  } catch (error) {
    made.forEach((t) => t.dispose());
    throw error;
  }
}
