// The page's datasets on the host (Fashion-MNIST's shipped sample, or the spiral) and their upload to an Engine.

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

/** Fashion-MNIST validation images taken from the end of the training file. */
const FASHION_VAL = 1000;
export const SPIRAL_CLASSES = ['arm 1', 'arm 2', 'arm 3'] as const;

export async function loadHostData(name: DatasetName): Promise<HostData> {
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
  const [train, test] = await Promise.all([
    datasets.loadFashionMnist({ split: 'train', source: 'sample' }),
    datasets.loadFashionMnist({ split: 'test', source: 'sample' }),
  ]);
  const D = train.rows * train.cols;
  const nVal = Math.min(FASHION_VAL, Math.floor(train.count / 5));
  const nTrain = train.count - nVal;
  const labels = (bytes: Uint8Array) => Int32Array.from(bytes);
  return {
    name,
    title: 'Fashion-MNIST',
    source: `the sample shipped with shadergrad: ${nTrain.toLocaleString('en-US')} training, ${nVal.toLocaleString('en-US')} validation and ${test.count.toLocaleString('en-US')} test images`,
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
