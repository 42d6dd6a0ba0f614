// Dropout kernel: a Philox4x32-10 keep mask from (seed, stream, element index); its host twin is src/reference/dropout.ts.

import source from '../../shaders/dropout.wgsl?raw';
import type { Engine } from '../engine/engine';
import type { UniformValue } from '../engine/uniforms';
import { Tensor, fmt, shapeSize } from '../tensor';
import { defineKernel, elementGrid } from './kernel';
import { ShadergradError } from '../errors';

/** One invocation per Philox block of 4 elements. */
const ELEMENTS_PER_INVOCATION = 4;

const applyKernel = defineKernel({
  name: 'dropout_apply',
  source,
  entryPoint: 'apply',
  bindings: ['read', 'write'],
  uniforms: ['u32', 'u32', 'u32', 'u32', 'f32'],
});

/** Elements are kept iff (bits >> 8) ≥ this, which is exactly u = (bits >> 8)·2⁻²⁴ ≥ p. */
export function dropoutThreshold(p: number): number {
  return Math.ceil(p * 2 ** 24);
}

/**
 * dst = src · keep / (1 − p), keep[i] drawn from Philox4x32-10 under the key (seed, stream). The
 * forward pass applies it to x, the backward pass to dout with the same seed: the same mask, with
 * nothing stored in between. `seed` may be a function, re-read each time a captured step replays.
 * The result has `shape` (default src's), which must hold as many elements.
 */
export function dropoutApply(
  engine: Engine,
  src: Tensor,
  p: number,
  seed: UniformValue,
  stream: number,
  { label = applyKernel.name, shape = src.shape }: { label?: string; shape?: readonly number[] } = {},
): Tensor {
  if (src.dtype !== 'f32') throw new ShadergradError(label, `expects f32, got ${src.dtype} ${fmt(src.shape)}`);
  if (shapeSize(shape) !== src.size) throw new ShadergradError(label, `cannot write ${fmt(src.shape)} as ${fmt(shape)}`);
  const dst = engine.empty(shape, 'f32', label);
  if (src.size) {
    engine.dispatch(applyKernel, [src, dst], elementGrid(applyKernel, src.size, ELEMENTS_PER_INVOCATION), [
      src.size,
      seed,
      stream,
      dropoutThreshold(p),
      1 / (1 - p),
    ]);
  }
  return dst;
}
