// Layer API: batch normalization and the affine–batchnorm–ReLU sandwich, as the course's functions on Tensors.

import { affine, type AffineSaved } from '../ops/affine';
import { batchnorm, checkBatchnorm, type BatchnormSaved, type BnParam } from '../ops/batchnorm';
import { type Tensor, checkTensors } from '../tensor';
import { ShadergradError } from '../errors';

export type { BnParam };
export type BatchnormCache = BatchnormSaved;

export interface AffineBatchnormReluCache {
  fc: AffineSaved;
  bn: BatchnormCache;
}

/**
 * Batch normalization of x (N, D) with gamma, beta (D). Train mode normalizes with the batch mean
 * and biased variance and updates bnParam's running statistics in place (created as zeros when
 * absent); test mode normalizes with the running statistics, and its cache cannot be
 * differentiated. A train cache holds xhat and invStd, which live until disposed.
 */
export function batchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BnParam): { out: Tensor; cache: BatchnormCache } {
  const { out, saved } = batchnorm.forward(x, gamma, beta, bnParam);
  return { out, cache: saved };
}

/** Gradients of train-mode batch normalization: dx (N, D), dgamma and dbeta (D). */
export function batchnormBackward(dout: Tensor, cache: BatchnormCache): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  return batchnorm.backward(dout, cache);
}

/** Affine, batch normalization, then ReLU (fused into the normalization kernel); see batchnormForward. */
export function affineBatchnormReluForward(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  gamma: Tensor,
  beta: Tensor,
  bnParam: BnParam,
): { out: Tensor; cache: AffineBatchnormReluCache } {
  // Check the batchnorm arguments before the affine kernels run (the affine op checks x, w, b).
  checkTensors('affineBatchnormReluForward', [['x', x], ['w', w], ['b', b], ['gamma', gamma], ['beta', beta]]);
  if (x.rank >= 1 && w.rank === 2) {
    checkBatchnorm('affineBatchnormReluForward', [x.shape[0]!, w.shape[1]!], 'x·w', gamma, beta, bnParam);
  }
  const fc = affine.forward(x, w, b);
  const bn = batchnorm.forward(fc.out, gamma, beta, bnParam, true);
  fc.out.dispose(); // backward needs xhat, not the affine output
  return { out: bn.out, cache: { fc: fc.saved, bn: bn.saved } };
}

export function affineBatchnormReluBackward(
  dout: Tensor,
  cache: AffineBatchnormReluCache,
): { dx: Tensor; dw: Tensor; db: Tensor; dgamma: Tensor; dbeta: Tensor } {
  if (typeof cache !== 'object' || cache === null || !cache.bn?.reluOut || !cache.fc) {
    throw new ShadergradError('affineBatchnormReluBackward', 'this cache is not from affineBatchnormReluForward');
  }
  const { dx: dy, dgamma, dbeta } = batchnorm.backward(dout, cache.bn);
  const { dx, dw, db } = affine.backward(dy, cache.fc) as { dx: Tensor; dw: Tensor; db: Tensor };
  dy.dispose();
  return { dx, dw, db, dgamma, dbeta };
}
