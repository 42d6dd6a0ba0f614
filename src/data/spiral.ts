// The course's (CS231n) spiral: `classes` arms of `n` 2-D points each, a small non-linearly-separable toy set.

import type { Engine } from '../engine/engine';
import { Random } from '../random';
import { checkOptions, checkSeed } from '../options';
import type { Tensor } from '../tensor';
import { ShadergradError } from '../errors';

export interface SpiralOptions {
  /** Points per class (default 100). */
  n?: number;
  /** Classes, one arm each (default 3). */
  classes?: number;
  /** Seed for the angle noise (src/random.ts); absent: a random seed. */
  seed?: number;
  /** Standard deviation of the angle noise (default 0.2). */
  noise?: number;
}

/** Evenly spaced numbers over [start, stop], numpy's linspace (one point: start). */
function linspace(start: number, stop: number, count: number, i: number): number {
  return count === 1 ? start : start + ((stop - start) * i) / (count - 1);
}

/**
 * The spiral on the host: for class j, r = linspace(0, 1, n), t = linspace(4j, 4(j+1), n) +
 * randn·noise, X = [r·sin t, r·cos t]; rows ordered by class. X is (n·classes)×2 row-major.
 */
export function spiralData(options: SpiralOptions = {}): { X: Float32Array; y: Int32Array; n: number; classes: number } {
  // null as well as nothing gives the defaults (as it always has); other values are checked.
  checkOptions('spiral', options ?? {}, ['n', 'classes', 'seed', 'noise']);
  const { n = 100, classes = 3, seed, noise = 0.2 } = options ?? {};
  if (!Number.isInteger(n) || n < 1) throw new ShadergradError('spiral', `n must be a positive integer, got ${n}`);
  if (!Number.isInteger(classes) || classes < 1) throw new ShadergradError('spiral', `classes must be a positive integer, got ${classes}`);
  if (typeof noise !== 'number' || !(noise >= 0) || !Number.isFinite(noise)) throw new ShadergradError('spiral', `noise must be a finite number ≥ 0, got ${String(noise)}`);
  checkSeed('spiral', seed);
  const rng = new Random(seed);
  const X = new Float32Array(n * classes * 2);
  const y = new Int32Array(n * classes);
  for (let j = 0; j < classes; j++) {
    for (let i = 0; i < n; i++) {
      const r = linspace(0, 1, n, i);
      const t = linspace(j * 4, (j + 1) * 4, n, i) + rng.normal() * noise;
      const row = j * n + i;
      X[2 * row] = r * Math.sin(t);
      X[2 * row + 1] = r * Math.cos(t);
      y[row] = j;
    }
  }
  return { X, y, n, classes };
}

/** The spiral as GPU tensors: X (n·classes, 2) f32, y (n·classes) i32. */
export function spiral(engine: Engine, options: SpiralOptions = {}): { X: Tensor; y: Tensor } {
  const { X, y } = spiralData(options);
  return { X: engine.tensor(X, [y.length, 2]), y: engine.tensor(y, [y.length]) };
}
