// Layer API: affine, ReLU and the affine–ReLU sandwich, as the course's functions on Tensors.

import { affine, type AffineSaved } from '../ops/affine';
import { relu } from '../ops/relu';
import type { Tensor } from '../tensor';
import { ShadergradError } from '../errors';

export type AffineCache = AffineSaved;

/** out = x.reshape(N, D)·w + b for x (N, d1, …, dk), w (D, M), b (M); cache = (x, w, b). */
export function affineForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: AffineCache } {
  const { out, saved } = affine.forward(x, w, b);
  return { out, cache: saved };
}

/** Gradients of the affine layer: dx shaped like x, dw like w, db like b. */
export function affineBackward(dout: Tensor, cache: AffineCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  return affine.backward(dout, cache) as { dx: Tensor; dw: Tensor; db: Tensor };
}

export function reluForward(x: Tensor): { out: Tensor; cache: Tensor } {
  const { out, saved } = relu.forward(x);
  return { out, cache: saved };
}

export function reluBackward(dout: Tensor, cache: Tensor): Tensor {
  return relu.backward(dout, cache);
}

/** Affine then ReLU, fused into one kernel; the cache keeps the output to mask the gradient. */
export function affineReluForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: AffineCache } {
  const { out, saved } = affine.forward(x, w, b, true);
  return { out, cache: saved };
}

export function affineReluBackward(dout: Tensor, cache: AffineCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  if (cache && typeof cache === 'object' && !cache.reluOut) throw new ShadergradError('affineReluBackward', 'this cache is from affineForward, not affineReluForward');
  return affine.backward(dout, cache) as { dx: Tensor; dw: Tensor; db: Tensor };
}
