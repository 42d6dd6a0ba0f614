// Reduction kernels: column sums (bias gradients) and whole-vector sums (the L2 penalty; sumAll, which the tests use too).

import source from '../../shaders/reduce.wgsl?raw';
import type { Engine } from '../engine/engine';
import type { UniformValue } from '../engine/uniforms';
import { Tensor, fmt } from '../tensor';
import { defineKernel, grid1d } from './kernel';
import { ShadergradError } from '../errors';

const columnSumKernel = defineKernel({
  name: 'column_sum',
  source,
  entryPoint: 'column_sum',
  bindings: ['read', 'write'],
  uniforms: ['u32', 'u32'],
});

const sumKernels = [false, true].map((square) =>
  [false, true].map((accumulate) =>
    defineKernel({
      name: `${square ? 'sum_squares' : 'sum'}${accumulate ? '_accumulate' : ''}`,
      source,
      entryPoint: 'sum_all',
      bindings: ['read', 'write'],
      uniforms: ['u32', 'f32'],
      constants: { SQUARE: +square, ACCUMULATE: +accumulate },
    }),
  ),
);

/** Sums an (N, D) matrix over its rows: a (D) vector — new, or written into `into` (D f32 elements, not x's buffer). */
export function columnSum(engine: Engine, x: Tensor, rows: number, cols: number, into?: Tensor): Tensor {
  if (x.size !== rows * cols || x.dtype !== 'f32') {
    throw new ShadergradError('columnSum', `a ${x.dtype} tensor ${fmt(x.shape)} is not a ${rows}×${cols} f32 matrix`);
  }
  if (into && (into.size !== cols || into.dtype !== 'f32')) {
    throw new ShadergradError('columnSum', `into must be an f32 tensor of ${cols} elements, got ${into.dtype} ${fmt(into.shape)}`);
  }
  if (into && into.storageFor('columnSum') === x.storageFor('columnSum')) {
    throw new ShadergradError('columnSum', `into ${fmt(into.shape)} shares its GPU buffer with x ${fmt(x.shape)} (the same tensor, or views of one slab)`);
  }
  const out = into ?? engine.empty([cols], 'f32', columnSumKernel.name);
  if (cols) engine.dispatch(columnSumKernel, [x, out], grid1d(Math.ceil(cols / 64)), [rows, cols]);
  return out;
}

export interface SumOptions {
  /** Multiplies the sum (a function is re-read when a captured step replays). */
  scale?: UniformValue;
  /** Sums squares instead. */
  square?: boolean;
}

/** scale · Σ x (or scale · Σ x² with `square`), as a one-element tensor. */
export function sumAll(engine: Engine, x: Tensor, options: SumOptions = {}): Tensor {
  const out = engine.empty([1], 'f32', 'sum');
  dispatchSum(engine, x, out, options, false);
  return out;
}

/** total += scale · Σ x (or Σ x²), in place on a one-element tensor (L2 penalties into a loss). */
export function sumAllInto(engine: Engine, total: Tensor, x: Tensor, options: SumOptions = {}): void {
  if (total.size !== 1 || total.dtype !== 'f32') throw new ShadergradError('sum', `the total must be one f32 element, got ${fmt(total.shape)}`);
  dispatchSum(engine, x, total, options, true);
}

function dispatchSum(engine: Engine, x: Tensor, total: Tensor, { scale = 1, square = false }: SumOptions, accumulate: boolean): void {
  if (x.dtype !== 'f32') throw new ShadergradError('sum', `expects f32, got ${x.dtype} ${fmt(x.shape)}`);
  engine.dispatch(sumKernels[+square]![+accumulate]!, [x, total], [1, 1, 1], [x.size, scale]);
}
