// What each benchmarked implementation (shadergrad and its peers) provides: prepared runs of the shared cases.

import type { ElementwiseCase, MatmulCase, TrainCase, Weights } from './cases';
import type { Runnable } from './measure';
import type { Impl, ImplInfo } from './types';

export interface ReadableRunnable extends Runnable {
  /** The result of the last run. */
  read(): Promise<Float32Array>;
}

export interface TrainRunnable extends Runnable {
  /** The loss the last run computed (before its update). */
  loss(): Promise<number>;
}

export interface ImplBench {
  readonly impl: Impl;
  info(): ImplInfo;
  /** op(A)·op(B) with A and B uploaded from `a` (stored K×M when transA) and `b` (N×K when transB). */
  matmul(c: MatmulCase, a: Float32Array, b: Float32Array): ReadableRunnable;
  /** ReLU forward (of x), ReLU backward (dy masked by x > 0) or dropout of x. */
  elementwise(c: ElementwiseCase, x: Float32Array, dy: Float32Array): ReadableRunnable;
  /** One training step (forward, backward, Adam) of the model from `weights` on the batch (X, y), on the GPU. */
  train(c: TrainCase, weights: Weights, X: Float32Array, y: Int32Array): TrainRunnable;
  destroy(): void;
}
