// Batch normalization op (optionally fused with a following ReLU): train/test forward and backward.

import { batchnormGrads, batchnormTest, batchnormTrain } from '../kernels/batchnorm';
import { reluBackward } from '../kernels/relu';
import { Tensor, checkTensors, fmt, isPositiveNormalF32, typeName } from '../tensor';
import { defineOp } from './op';
import { ShadergradError } from '../errors';

/** The course's bn_param. Absent running statistics are created (zeros, shape (D)) and stored here. */
export interface BnParam {
  mode: 'train' | 'test';
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** running = momentum·running + (1 − momentum)·batch statistic (default 0.9). */
  momentum?: number;
  /** (D), updated in place by train-mode forward passes. */
  runningMean?: Tensor;
  /** (D), the biased (uncorrected) batch variance's running average, updated in place. */
  runningVar?: Tensor;
}

/** What backward needs: xhat and invStd from the batch statistics; a test-mode pass has no gradient. */
export type BatchnormSaved =
  | {
      mode: 'train';
      /** (x − batch mean)·invStd, (N, D). */
      xhat: Tensor;
      /** 1/sqrt(batch variance + eps), (D). */
      invStd: Tensor;
      gamma: Tensor;
      /** The output, when ReLU was fused into the forward pass (backward masks with it). */
      reluOut: Tensor | null;
    }
  | { mode: 'test'; reluOut: Tensor | null };

/**
 * Throws, before any GPU work, unless an input of shape `shape` (described as `input` in the
 * message), gamma, beta and bnParam fit together: input (N, D), gamma and beta (D), running
 * statistics absent or (D), all f32 and not disposed; N ≥ 1 in train mode.
 */
export function checkBatchnorm(op: string, shape: readonly number[], input: string, gamma: Tensor, beta: Tensor, bnParam: BnParam): void {
  if (typeof bnParam !== 'object' || bnParam === null) {
    throw new ShadergradError(op, `bnParam must be an object such as { mode: 'train' }, got ${String(bnParam)}`);
  }
  const { mode, eps = 1e-5, momentum = 0.9, runningMean, runningVar } = bnParam;
  if (mode !== 'train' && mode !== 'test') {
    throw new ShadergradError(op, `bnParam.mode must be 'train' or 'test', got ${JSON.stringify(mode) ?? String(mode)}`);
  }
  // 0 would divide by 0 on a constant column (NaN in training, Infinity in test mode with fresh running averages).
  if (typeof eps !== 'number' || !isPositiveNormalF32(eps)) {
    throw new ShadergradError(op, `bnParam.eps must be a normal f32 number > 0 (1.2e-38 to 3.4e38), got ${String(eps)}`);
  }
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) {
    throw new ShadergradError(op, `bnParam.momentum must be a number in [0, 1], got ${String(momentum)}`);
  }
  if (shape.length !== 2) {
    throw new ShadergradError(op, `${input} ${fmt(shape)} must be 2-D (N, D)`);
  }
  const [N, D] = [shape[0]!, shape[1]!];
  if (mode === 'train' && N === 0) {
    throw new ShadergradError(op, `${input} ${fmt(shape)} has no rows; train mode needs N ≥ 1 for batch statistics`);
  }
  const vectors: Array<[string, Tensor | undefined]> = [
    ['gamma', gamma],
    ['beta', beta],
    ['bnParam.runningMean', runningMean],
    ['bnParam.runningVar', runningVar],
  ];
  for (const [name, t] of vectors) {
    if (t === undefined && name.startsWith('bnParam.')) continue;
    if (!(t instanceof Tensor)) throw new ShadergradError(op, `${name} must be a Tensor, got ${String(t)}`);
    if (t.rank !== 1 || t.shape[0] !== D) {
      throw new ShadergradError(op, `${name} ${fmt(t.shape)} must be (D) = [${D}] for ${input} ${fmt(shape)}`);
    }
    if (t.dtype !== 'f32') throw new ShadergradError(op, `${name} must be f32, got ${t.dtype}`);
    t.storageFor(op); // throws now, not halfway through the kernels, if it was disposed
  }
  if (runningMean && runningVar && runningMean.storageFor(op) === runningVar.storageFor(op)) {
    throw new ShadergradError(op, `bnParam.runningMean and bnParam.runningVar must be different tensors`);
  }
}

export const batchnorm = defineOp({
  name: 'batchnorm',
  forward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BnParam, relu: boolean = false) {
    const op = relu ? 'affineBatchnormReluForward' : 'batchnormForward';
    if (!(x instanceof Tensor)) throw new ShadergradError(op, `x must be a Tensor, got ${String(x)}`);
    checkBatchnorm(op, x.shape, 'x', gamma, beta, bnParam);
    const { runningMean, runningVar } = bnParam;
    checkTensors(op, [['x', x], ['gamma', gamma], ['beta', beta], ...(runningMean ? [['bnParam.runningMean', runningMean] as const] : []), ...(runningVar ? [['bnParam.runningVar', runningVar] as const] : [])]);
    if (x.dtype !== 'f32') throw new ShadergradError(op, `x must be f32, got ${x.dtype}`);
    const storage = x.storageFor(op);
    for (const running of [bnParam.runningMean, bnParam.runningVar]) {
      if (running && running.storageFor(op) === storage) {
        throw new ShadergradError(op, `a running statistic shares its buffer with x ${fmt(x.shape)}`);
      }
    }
    const engine = x.engine;
    const D = x.shape[1]!;
    const eps = bnParam.eps ?? 1e-5;
    // Persistent: made inside a captured step, they must survive its replays (not be re-zeroed).
    bnParam.runningMean ??= engine.persistentZeros([D], 'f32', 'batchnorm_running_mean');
    bnParam.runningVar ??= engine.persistentZeros([D], 'f32', 'batchnorm_running_var');
    if (bnParam.mode === 'train') {
      const momentum = bnParam.momentum ?? 0.9;
      const { out, xhat, invStd } = batchnormTrain(engine, x, gamma, beta, bnParam.runningMean, bnParam.runningVar, { eps, momentum, relu });
      const saved: BatchnormSaved = { mode: 'train', xhat, invStd, gamma, reluOut: relu ? out : null };
      return { out, saved };
    }
    const out = batchnormTest(engine, x, gamma, beta, bnParam.runningMean, bnParam.runningVar, { eps, relu });
    const saved: BatchnormSaved = { mode: 'test', reluOut: relu ? out : null };
    return { out, saved };
  },
  backward(dout: Tensor, saved: BatchnormSaved, _needs?: unknown, into?: { dgamma?: Tensor; dbeta?: Tensor }) {
    if (typeof saved !== 'object' || saved === null) {
      throw new ShadergradError('batchnormBackward', `cache must be the cache batchnormForward returned, got ${typeName(saved)}`);
    }
    const op = saved.reluOut ? 'affineBatchnormReluBackward' : 'batchnormBackward';
    if (saved.mode !== 'train') {
      throw new ShadergradError(op, `the cache is from a test-mode forward pass, which has no gradient; run the forward pass with mode 'train'`);
    }
    const { xhat, invStd, gamma, reluOut } = saved;
    if (!(dout instanceof Tensor) || dout.dtype !== 'f32' || fmt(dout.shape) !== fmt(xhat.shape)) {
      const got = dout instanceof Tensor ? `${dout.dtype} ${fmt(dout.shape)}` : String(dout);
      throw new ShadergradError(op, `dout ${got} should be f32 ${fmt(xhat.shape)}, the forward output's shape`);
    }
    const engine = checkTensors(op, [['dout', dout], ['cache.xhat', xhat], ['cache.invStd', invStd], ['cache.gamma', gamma], ...(reluOut ? [['cache out', reluOut] as const] : [])]);
    const d = reluOut ? reluBackward(engine, dout, reluOut) : dout;
    const grads = batchnormGrads(engine, d, xhat, gamma, invStd, undefined, into);
    if (d !== dout) d.dispose();
    return grads;
  },
  temporaries: (saved: BatchnormSaved) => (saved.mode === 'train' ? [saved.xhat, saved.invStd] : []),
});
