// The tape: a forward pass records each op (inputs, saved values); backward replays them in reverse.

import type { Engine } from '../engine/engine';
import { axpyInPlace } from '../kernels/elementwise';
import type { Op } from '../ops/op';
import { Tensor } from '../tensor';
import { ShadergradError } from '../errors';

/** Maps each gradient an op returns (dx, dw, …) to the input tensor it belongs to; an op that returns one tensor calls it dx. */
export type GradInputs<Grads> = Grads extends Tensor ? { dx?: Tensor | null } : { [K in keyof Grads]?: Tensor | null };

interface Node {
  op: Op<never[], unknown, unknown>;
  saved: unknown;
  inputs: Record<string, Tensor | null | undefined>;
  out: Tensor;
}

/**
 * Records ops applied through it. Tensors the caller `watch`es (parameters) get gradients; an op
 * output needs one when any of its inputs does. With `grad: false` nothing is recorded and each
 * op's backward-only temporaries are freed at once (inference).
 */
export class Tape {
  private readonly nodes: Node[] = [];
  private readonly requiresGrad = new Set<Tensor>();
  private readonly watched = new Set<Tensor>();
  /** Op outputs (activations): freed by dispose(). */
  private readonly intermediates: Tensor[] = [];

  constructor(
    readonly engine: Engine,
    readonly grad = true,
  ) {}

  /** Marks a leaf (a parameter) whose gradient backward() should return. */
  watch(t: Tensor): Tensor {
    this.requiresGrad.add(t);
    this.watched.add(t);
    return t;
  }

  /** Keeps an op output alive past dispose() (the caller now owns it). */
  release(t: Tensor): Tensor {
    const i = this.intermediates.indexOf(t);
    if (i >= 0) this.intermediates.splice(i, 1);
    return t;
  }

  /** Runs `op.forward(...args)`; `inputs` says which input each of the op's gradients is for. */
  apply<Args extends unknown[], Saved, Grads>(op: Op<Args, Saved, Grads>, args: Args, inputs: GradInputs<Grads>): Tensor {
    const { out, saved } = op.forward(...args);
    this.intermediates.push(out);
    if (!this.grad) {
      for (const t of op.temporaries(saved)) t.dispose();
      return out;
    }
    const record = inputs as Record<string, Tensor | null | undefined>;
    if (Object.values(record).some((t) => t && this.requiresGrad.has(t))) this.requiresGrad.add(out);
    this.nodes.push({ op: op as unknown as Node['op'], saved, inputs: record, out });
    return out;
  }

  /**
   * Back-propagates `grad` (the gradient of `root`) through the recorded ops in reverse and
   * returns the gradient of every watched leaf that the root depends on. Gradients of a tensor
   * used twice are summed. The tape's saved values are freed as it goes.
   *
   * `into` maps watched leaves to tensors their gradients are written into (views of one slab,
   * which an optimizer then updates in one dispatch): the op that makes a leaf's first gradient
   * writes it there where it can, or the tape copies it there; later ones are added to it. The
   * returned map holds those tensors, which stay the caller's.
   */
  backward(root: Tensor, grad: Tensor, into?: ReadonlyMap<Tensor, Tensor>): Map<Tensor, Tensor> {
    if (!this.grad) throw new ShadergradError(null, 'this tape records no gradients (grad: false)');
    const grads = new Map<Tensor, Tensor>([[root, grad]]);
    const targetSet = new Set(into?.values()); // the caller's: never freed here
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!;
      const dout = grads.get(node.out);
      if (dout) {
        const needs: Record<string, boolean> = {};
        const targets: Record<string, Tensor> = {};
        const targeted = new Set<Tensor>(); // a leaf in two of this op's inputs: its target once
        for (const [key, t] of Object.entries(node.inputs)) {
          needs[key] = !!t && this.requiresGrad.has(t);
          const target = t && needs[key] && this.watched.has(t) && !grads.has(t) && !targeted.has(t) ? into?.get(t) : undefined;
          if (target) {
            targets[key] = target;
            targeted.add(t!);
          }
        }
        const result = node.op.backward(dout, node.saved as never, needs as never, targets as never) as unknown;
        const inputGrads: Record<string, Tensor | null> = result instanceof Tensor ? { dx: result } : (result as Record<string, Tensor | null>);
        let forwarded = false; // an op may pass dout on unchanged as an input's gradient
        for (const [key, made] of Object.entries(inputGrads)) {
          const input = node.inputs[key];
          let g = made;
          if (!g) continue;
          if (!input || !needs[key]) {
            if (g !== dout && g !== targets[key]) g.dispose();
            continue;
          }
          const target = targets[key];
          if (target && g !== target) {
            // The op made its own: copied to where the caller wants it.
            this.engine.copy(g, target);
            if (g !== dout) g.dispose();
            g = target;
          }
          const existing = grads.get(input);
          if (existing) {
            axpyInPlace(this.engine, existing, g, 1);
            if (g !== dout) g.dispose();
          } else {
            grads.set(input, g);
            if (g === dout) forwarded = true;
          }
        }
        grads.delete(node.out);
        if (!forwarded && dout !== grad && !targetSet.has(dout)) dout.dispose();
      }
      for (const t of node.op.temporaries(node.saved as never)) t.dispose();
    }
    this.nodes.length = 0;
    const leaves = new Map<Tensor, Tensor>();
    for (const [t, g] of grads) {
      if (this.watched.has(t)) leaves.set(t, g);
      else if (g !== grad) g.dispose();
    }
    return leaves;
  }

  /** Frees the activations and anything backward did not consume. */
  dispose(): void {
    for (const node of this.nodes) for (const t of node.op.temporaries(node.saved as never)) t.dispose();
    this.nodes.length = 0;
    for (const t of this.intermediates) t.dispose();
    this.intermediates.length = 0;
  }
}

