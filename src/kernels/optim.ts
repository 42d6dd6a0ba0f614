// Optimizer kernels (shaders/optim.wgsl): one in-place dispatch per update rule, weights and state together.

import source from '../../shaders/optim.wgsl?raw';
import { defineKernel } from './kernel';

/** w −= lr·dw. Bindings: dw, w. Uniforms: n, learningRate. */
export const sgdKernel = defineKernel({
  name: 'optim_sgd',
  source,
  entryPoint: 'sgd',
  bindings: ['read', 'write'],
  uniforms: ['u32', 'f32'],
});

/** Bindings: dw, w, velocity. Uniforms: n, learningRate, momentum. */
export const sgdMomentumKernel = defineKernel({
  name: 'optim_sgd_momentum',
  source,
  entryPoint: 'sgd_momentum',
  bindings: ['read', 'write', 'write'],
  uniforms: ['u32', 'f32', 'f32'],
});

/** Same bindings and uniforms as sgdMomentumKernel. */
export const sgdNesterovMomentumKernel = defineKernel({
  name: 'optim_sgd_nesterov_momentum',
  source,
  entryPoint: 'sgd_nesterov_momentum',
  bindings: ['read', 'write', 'write'],
  uniforms: ['u32', 'f32', 'f32'],
});

/** Bindings: dw, w, cache. Uniforms: n, learningRate, decayRate, 1 − decayRate, epsilon. */
export const rmspropKernel = defineKernel({
  name: 'optim_rmsprop',
  source,
  entryPoint: 'rmsprop',
  bindings: ['read', 'write', 'write'],
  uniforms: ['u32', 'f32', 'f32', 'f32', 'f32'],
});

/**
 * Bindings: dw, w, m, v. Uniforms: n, learningRate, beta1, 1 − beta1, beta2, 1 − beta2, epsilon,
 * 1 / (1 − beta1^t), 1 / (1 − beta2^t)
 */
export const adamKernel = defineKernel({
  name: 'optim_adam',
  source,
  entryPoint: 'adam',
  bindings: ['read', 'write', 'write', 'write'],
  uniforms: ['u32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32'],
});
