// An op is declared once, forward and backward together, so a missing backward is a type error.

import type { Tensor } from '../tensor';

export interface Op<Args extends unknown[], Saved, Grads> {
  readonly name: string;
  /** Runs the kernels of the forward pass; `saved` is what backward needs (the layer's cache). */
  forward(...args: Args): { out: Tensor; saved: Saved };
  /**
   * Gradients of the op's inputs given the gradient of its output. `needs` names the gradients
   * the caller wants (all when absent); an op may skip the others (the network input's dx).
   * `into` offers tensors to write gradients into (views of a gradient slab); an op that can,
   * returns them, and one that cannot returns its own (the tape then copies).
   */
  backward(dout: Tensor, saved: Saved, needs?: Needs<Grads>, into?: Into<Grads>): Grads;
  /** Tensors forward made only for backward: freed once backward has run. */
  temporaries(saved: Saved): Tensor[];
}

/** Which of an op's gradients are wanted. */
export type Needs<Grads> = Partial<Record<keyof Grads, boolean>>;

/** Where an op may write its gradients instead of new tensors. */
export type Into<Grads> = Partial<Record<keyof Grads, Tensor>>;

export function defineOp<Args extends unknown[], Saved, Grads>(op: Op<Args, Saved, Grads>): Op<Args, Saved, Grads> {
  return Object.freeze(op);
}
