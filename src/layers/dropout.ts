// Layer API: inverted dropout (p is the probability of dropping a unit), as the course's functions.

import { dropout, type DropoutCache, type DropoutParam } from '../ops/dropout';
import type { Tensor } from '../tensor';

export type { DropoutCache, DropoutParam };

/**
 * Inverted dropout. Train mode drops each unit with probability p and scales the kept ones by
 * 1/(1 − p); test mode returns x unchanged, as a view sharing x's buffer (no copy): dispose it
 * independently of x. The cache holds the mode, p, the stream and the seed, never a mask.
 */
export function dropoutForward(x: Tensor, dropoutParam: DropoutParam): { out: Tensor; cache: DropoutCache } {
  const { out, saved } = dropout.forward(x, dropoutParam);
  return { out, cache: saved };
}

/** dx = dout · mask / (1 − p) in train mode (the mask regenerated on the GPU), a view of dout in test mode. */
export function dropoutBackward(dout: Tensor, cache: DropoutCache): Tensor {
  return dropout.backward(dout, cache);
}
