// Gather kernels: minibatch rows taken on the GPU from a dataset (f32, packed 8-bit, or i32 labels).

import source from '../../shaders/gather.wgsl?raw';
import type { Engine } from '../engine/engine';
import { Tensor, fmt, rowSize } from '../tensor';
import { defineKernel, elementGrid } from './kernel';
import { ShadergradError } from '../errors';

const bindings = ['read', 'read', 'write'] as const;
const uniforms = ['u32', 'u32', 'u32', 'f32'] as const;
const kernels = {
  f32: defineKernel({ name: 'gather_f32', source, entryPoint: 'gather_f32', bindings, uniforms }),
  unorm8: defineKernel({ name: 'gather_unorm8', source, entryPoint: 'gather_unorm8', bindings, uniforms, packed: [1] }),
  i32: defineKernel({ name: 'gather_i32', source, entryPoint: 'gather_i32', bindings, uniforms }),
};

/**
 * out[i] = src[indices[i]] for the rows of `src` (N, …): an f32 result for f32 and 8-bit sources,
 * i32 for i32. An index outside [0, N) gives a NaN row (−1 for labels), never an out-of-bounds read.
 */
export function gatherRows(engine: Engine, src: Tensor, indices: Tensor, out?: Tensor): Tensor {
  if (indices.dtype !== 'i32' || indices.rank !== 1) {
    throw new ShadergradError('gatherRows', `indices must be a 1-D i32 tensor, got ${indices.dtype} ${fmt(indices.shape)}`);
  }
  if (src.rank < 1) throw new ShadergradError('gatherRows', 'the source needs rows');
  const rows = src.shape[0]!;
  const cols = rowSize(src.shape);
  const count = indices.size;
  const shape = [count, ...src.shape.slice(1)];
  if (out && (out.size !== count * cols || out.dtype !== src.dtype || out.format !== 'native')) {
    throw new ShadergradError('gatherRows', `out ${out.dtype} ${fmt(out.shape)} cannot hold ${src.dtype} ${fmt(shape)}`);
  }
  const result = out ?? engine.empty(shape, src.dtype, 'gather');
  const kernel = src.format === 'unorm8' ? kernels.unorm8 : src.dtype === 'i32' ? kernels.i32 : kernels.f32;
  if (count * cols) {
    // The source binds at its byte offset (a view into a slab reads its own rows).
    engine.dispatch(kernel, [indices, src, result], elementGrid(kernel, count * cols), [rows, cols, count, 1 / 255]);
  }
  return result;
}

/** Rows [start, start + count) of `src` as a new tensor (an 8-bit source unpacked to f32): gatherRows over a range. */
export function gatherRange(engine: Engine, src: Tensor, start: number, count: number): Tensor {
  const indices = engine.tensor(Int32Array.from({ length: count }, (_, i) => start + i));
  try {
    return gatherRows(engine, src, indices);
  } finally {
    // Safe before the gather runs: a later write into a reused buffer submits the gather first (Engine.writeBuffer).
    indices.dispose();
  }
}
