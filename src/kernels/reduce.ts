// Reduction kernels: column sums (bias gradients) and whole-vector sums (losses, L2 penalties).

import source from '../../shaders/reduce.wgsl?raw';
import type { Engine } from '../engine/engine';
import { Tensor, fmt } from '../tensor';
import { defineKernel, grid1d } from './kernel';

const columnSumKernel = defineKernel({
  name: 'column_sum',
  source,
  entryPoint: 'column_sum',
  bindings: ['read', 'write'],
  uniforms: ['u32', 'u32'],
});

const sumKernels = [false, true].map((square) =>
  defineKernel({
    name: square ? 'sum_squares' : 'sum',
    source,
    entryPoint: 'sum_all',
    bindings: ['read', 'write'],
    uniforms: ['u32', 'f32'],
    constants: { SQUARE: +square },
  }),
);

/** Sums an (N, D) matrix over its rows: a (D) vector. */
export function columnSum(engine: Engine, x: Tensor, rows: number, cols: number): Tensor {
  if (x.size !== rows * cols || x.dtype !== 'f32') {
    throw new Error(`shadergrad: columnSum: a ${x.dtype} tensor ${fmt(x.shape)} is not a ${rows}×${cols} f32 matrix`);
  }
  const out = engine.empty([cols], 'f32', columnSumKernel.name);
  if (cols) engine.dispatch(columnSumKernel, [x, out], grid1d(Math.ceil(cols / 64)), [rows, cols]);
  return out;
}

/** scale · Σ x (or scale · Σ x² with `square`), as a one-element tensor. */
export function sumAll(engine: Engine, x: Tensor, { scale = 1, square = false } = {}): Tensor {
  if (x.dtype !== 'f32') throw new Error(`shadergrad: sum: expects f32, got ${x.dtype} ${fmt(x.shape)}`);
  const kernel = sumKernels[+square]!;
  const out = engine.empty([1], 'f32', kernel.name);
  engine.dispatch(kernel, [x, out], [1, 1, 1], [x.size, scale]);
  return out;
}
