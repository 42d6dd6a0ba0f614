// ReLU kernels: elementwise forward and backward.

import source from '../../shaders/relu.wgsl?raw';
import type { Engine } from '../engine/engine';
import { Tensor, checkTensors, fmt } from '../tensor';
import { defineKernel, elementGrid } from './kernel';
import { ShadergradError } from '../errors';

const forwardKernel = defineKernel({ name: 'relu_forward', source, entryPoint: 'forward', bindings: ['read', 'write'], uniforms: ['u32'] });
const backwardKernel = defineKernel({ name: 'relu_backward', source, entryPoint: 'backward', bindings: ['read', 'read', 'write'], uniforms: ['u32'] });

export function reluForward(engine: Engine, x: Tensor): Tensor {
  checkTensors('reluForward', [['x', x]]);
  if (x.dtype !== 'f32') throw new ShadergradError('reluForward', `expects f32, got ${x.dtype} ${fmt(x.shape)}`);
  const out = engine.empty(x.shape, 'f32', forwardKernel.name);
  if (x.size) engine.dispatch(forwardKernel, [x, out], elementGrid(forwardKernel, x.size), [x.size]);
  return out;
}

/** dx = dout where `saved` (the forward input, or its output) is positive, else 0. */
export function reluBackward(engine: Engine, dout: Tensor, saved: Tensor): Tensor {
  checkTensors('reluBackward', [['dout', dout], ['cache', saved]]);
  if (dout.shape.join() !== saved.shape.join() || dout.rank !== saved.rank || dout.dtype !== 'f32' || saved.dtype !== 'f32') {
    throw new ShadergradError('reluBackward', `dout ${dout.dtype} ${fmt(dout.shape)} does not match the cached input ${saved.dtype} ${fmt(saved.shape)}`);
  }
  const dx = engine.empty(saved.shape, 'f32', backwardKernel.name);
  if (dx.size) engine.dispatch(backwardKernel, [dout, saved, dx], elementGrid(backwardKernel, dx.size), [dx.size]);
  return dx;
}
