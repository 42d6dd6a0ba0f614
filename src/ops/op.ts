// An op is declared once, forward and backward together, so a missing backward is a type error.

import type { Tensor } from '../tensor';

export interface Op<Args extends unknown[], Saved, Grads> {
  readonly name: string;
  /** Runs the kernels of the forward pass; `saved` is what backward needs (the layer's cache). */
  forward(...args: Args): { out: Tensor; saved: Saved };
  /** Gradients of the op's inputs given the gradient of its output. */
  backward(dout: Tensor, saved: Saved): Grads;
  /** Tensors forward made only for backward: freed once backward has run. */
  temporaries(saved: Saved): Tensor[];
}

export function defineOp<Args extends unknown[], Saved, Grads>(op: Op<Args, Saved, Grads>): Op<Args, Saved, Grads> {
  return Object.freeze(op);
}
