// Elementwise kernels: in-place y += alpha·x, and storing a scalar at an index.

import source from '../../shaders/elementwise.wgsl?raw';
import type { Engine } from '../engine/engine';
import type { UniformValue } from '../engine/uniforms';
import { Tensor, fmt } from '../tensor';
import { defineKernel, elementGrid } from './kernel';
import { ShadergradError } from '../errors';

const storeKernel = defineKernel({ name: 'store_scalar', source, entryPoint: 'store_scalar', bindings: ['read', 'write'], uniforms: ['u32'], workgroupSize: 1 });

const axpyKernel = defineKernel({ name: 'axpy', source, entryPoint: 'axpy', bindings: ['read', 'write'], uniforms: ['u32', 'f32'] });

/** y += alpha·x, in place (alpha may be a function, re-read when a captured step replays). */
export function axpyInPlace(engine: Engine, y: Tensor, x: Tensor, alpha: UniformValue = 1): void {
  if (x.size !== y.size || x.dtype !== 'f32' || y.dtype !== 'f32') {
    throw new ShadergradError('axpy', `x ${x.dtype} ${fmt(x.shape)} and y ${y.dtype} ${fmt(y.shape)} differ`);
  }
  if (y.size) engine.dispatch(axpyKernel, [x, y], elementGrid(axpyKernel, y.size), [y.size, alpha]);
}

/** log[index] = value[0] (index may be a function: a captured step's iteration number). */
export function storeScalar(engine: Engine, value: Tensor, log: Tensor, index: UniformValue): void {
  if (value.size !== 1 || value.dtype !== 'f32' || log.dtype !== 'f32') {
    throw new ShadergradError('storeScalar', `needs a one-element f32 value and an f32 log, got ${value} and ${log}`);
  }
  engine.dispatch(storeKernel, [value, log], [1, 1, 1], [index]);
}
