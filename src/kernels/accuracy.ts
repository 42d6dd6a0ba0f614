// Accuracy kernel: counts rows whose argmax equals the label, into a GPU counter.

import source from '../../shaders/accuracy.wgsl?raw';
import type { Engine } from '../engine/engine';
import type { UniformValue } from '../engine/uniforms';
import { Tensor, fmt } from '../tensor';
import { defineKernel, elementGrid } from './kernel';
import { ShadergradError } from '../errors';

const countKernel = defineKernel({
  name: 'count_correct',
  source,
  entryPoint: 'count_correct',
  bindings: ['read', 'read', 'write'],
  uniforms: ['u32', 'u32'],
});

/**
 * counter[0] (a one-element u32/i32 tensor) += how many of the first `rows` rows of scores (N, C)
 * have their first maximal score at labels[row]. `rows` may be a function (a captured evaluation
 * step's last, partial batch).
 */
export function countCorrect(engine: Engine, scores: Tensor, labels: Tensor, counter: Tensor, rows: UniformValue = scores.shape[0]!): void {
  const [N, C] = [scores.shape[0]!, scores.shape[1]!];
  if (scores.rank !== 2 || scores.dtype !== 'f32' || labels.dtype !== 'i32' || labels.size !== N) {
    throw new ShadergradError('countCorrect', `scores must be f32 (N, C) and labels i32 (N), got ${scores.dtype} ${fmt(scores.shape)} and ${labels.dtype} ${fmt(labels.shape)}`);
  }
  if (counter.size !== 1 || counter.dtype !== 'i32') throw new ShadergradError('countCorrect', `the counter must be one i32 element, got ${counter}`);
  engine.dispatch(countKernel, [scores, labels, counter], elementGrid(countKernel, N), [rows, C]);
}
