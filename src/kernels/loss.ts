// Loss kernels: softmax and SVM losses with their gradients, one pass per row, and their mean.

import source from '../../shaders/loss.wgsl?raw';
import type { Engine } from '../engine/engine';
import { checkOptions } from '../options';
import { Tensor, checkTensors, fmt } from '../tensor';
import { defineKernel, elementGrid, grid1d, type Kernel } from './kernel';
import { ShadergradError } from '../errors';

export type LossKind = 'softmax' | 'svm';

/** 'row': one invocation per row (small C); 'workgroup': a workgroup of 64 per row (large C). */
export type LossStrategy = 'row' | 'workgroup';

/**
 * On a GPU, rows of at most this many classes get one invocation each, wider rows a workgroup
 * (H200 through Dawn/Vulkan, N = 10000: a little faster per row at C = 10, per workgroup from
 * C = 33 on, 3–6× at C = 256–1000). On SwiftShader one invocation per row always wins (10–60× at
 * C = 33…128, 2–6× at C = 1000): it runs invocations as SIMD lanes, and barriers are costly.
 */
const ROW_STRATEGY_MAX_CLASSES = 32;

/** The strategy for an (N, C) loss on this engine's device. */
function chooseLossStrategy(engine: Engine, C: number): LossStrategy {
  return engine.isCpuAdapter || C <= ROW_STRATEGY_MAX_CLASSES ? 'row' : 'workgroup';
}
const ROW_WG = 64;

const rowBindings = ['read', 'read', 'write', 'write'] as const;
const rowKernels: Record<LossKind, Record<LossStrategy, Kernel>> = {
  softmax: {
    row: defineKernel({ name: 'softmax_loss_rows', source, entryPoint: 'softmax_per_row', bindings: rowBindings, uniforms: ['u32', 'u32', 'f32'], workgroupSize: ROW_WG }),
    workgroup: defineKernel({ name: 'softmax_loss_workgroups', source, entryPoint: 'softmax_per_workgroup', bindings: rowBindings, uniforms: ['u32', 'u32', 'f32'], workgroupSize: 64 }),
  },
  svm: {
    row: defineKernel({ name: 'svm_loss_rows', source, entryPoint: 'svm_per_row', bindings: rowBindings, uniforms: ['u32', 'u32', 'f32'], workgroupSize: ROW_WG }),
    workgroup: defineKernel({ name: 'svm_loss_workgroups', source, entryPoint: 'svm_per_workgroup', bindings: rowBindings, uniforms: ['u32', 'u32', 'f32'], workgroupSize: 64 }),
  },
};

const meanKernel = defineKernel({ name: 'loss_mean', source, entryPoint: 'mean_rows', bindings: ['read', 'write'], uniforms: ['u32', 'f32'] });

/** layers.softmaxLoss and svmLoss's options (not the public LossOptions, which are model.loss's). */
export interface LossKernelOptions {
  /** Force a strategy (tests of every code path); default by the number of classes. */
  strategy?: LossStrategy;
}

const opNames: Record<LossKind, string> = { softmax: 'softmaxLoss', svm: 'svmLoss' };

/** Throws unless x is f32 (N, C) with N, C ≥ 1 and y is i32 (N). */
function checkLossInputs(kind: LossKind, x: Tensor, y: Tensor): [number, number] {
  const op = opNames[kind];
  checkTensors(op, [['x', x], ['y', y]]);
  if (x.dtype !== 'f32' || x.rank !== 2 || x.shape[0]! < 1 || x.shape[1]! < 1) {
    throw new ShadergradError(op, `x must be an f32 (N, C) matrix with N, C ≥ 1, got ${x.dtype} ${fmt(x.shape)}`);
  }
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  if (y.dtype !== 'i32' || y.rank !== 1 || y.shape[0] !== N) {
    throw new ShadergradError(op, `y must be an i32 vector of N = ${N} labels for x ${fmt(x.shape)}, got ${y.dtype} ${fmt(y.shape)}`);
  }
  return [N, C];
}

/**
 * The mean loss over the rows of x (N, C) for labels y (N), as a one-element tensor, and its
 * gradient dx (N, C). A label outside [0, C) makes its row's loss and dx row NaN, and so the loss.
 */
export function classificationLoss(engine: Engine, kind: LossKind, x: Tensor, y: Tensor, options: LossKernelOptions = {}): { loss: Tensor; dx: Tensor } {
  const [N, C] = checkLossInputs(kind, x, y);
  const op = opNames[kind];
  checkOptions(op, options, ['strategy']);
  if (options.strategy !== undefined && !Object.hasOwn(rowKernels[kind], options.strategy)) {
    throw new ShadergradError(op, `strategy must be ${Object.keys(rowKernels[kind]).map((k) => `'${k}'`).join(' or ')}, got ${JSON.stringify(options.strategy)}`);
  }
  const strategy = options.strategy ?? chooseLossStrategy(engine, C);
  const kernel = rowKernels[kind][strategy];
  const dx = engine.empty([N, C], 'f32', `${op}.dx`);
  const rowLoss = engine.empty([N], 'f32', `${op}.rows`);
  const grid = strategy === 'row' ? elementGrid(kernel, N) : grid1d(N);
  engine.dispatch(kernel, [x, y, dx, rowLoss], grid, [N, C, 1 / N]);
  const loss = engine.empty([1], 'f32', op);
  engine.dispatch(meanKernel, [rowLoss, loss], [1, 1, 1], [N, 1 / N]);
  rowLoss.dispose();
  return { loss, dx };
}
