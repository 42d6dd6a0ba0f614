// Affine op (x·W + b, optionally fused with ReLU): forward and backward.

import { matmul } from '../kernels/matmul';
import { columnSum } from '../kernels/reduce';
import { reluBackward } from '../kernels/relu';
import { Tensor, checkTensors, fmt, rowSize, typeName } from '../tensor';
import { defineOp } from './op';
import { ShadergradError } from '../errors';

export interface AffineSaved {
  x: Tensor;
  w: Tensor;
  b: Tensor;
  /** The output, when ReLU was fused into the forward pass (backward masks with it). */
  reluOut: Tensor | null;
}

function checkAffine(op: string, x: Tensor, w: Tensor, b: Tensor): void {
  checkTensors(op, [['x', x], ['w', w], ['b', b]]);
  const rows = x.shape[0];
  const D = rowSize(x.shape);
  if (x.rank < 2 || w.rank !== 2 || b.rank !== 1 || w.shape[0] !== D || b.shape[0] !== w.shape[1]) {
    throw new ShadergradError(
      op,
      `x ${fmt(x.shape)} (as ${rows}×${D}), w ${fmt(w.shape)} and b ${fmt(b.shape)} do not fit: ` +
        'need x (N, d1, …, dk), w (d1·…·dk, M), b (M)',
    );
  }
  for (const [name, t] of [['x', x], ['w', w], ['b', b]] as const) {
    if (t.dtype !== 'f32') throw new ShadergradError(op, `${name} must be f32, got ${t.dtype}`);
  }
}

export const affine = defineOp({
  name: 'affine',
  forward(x: Tensor, w: Tensor, b: Tensor, relu: boolean = false) {
    const op = relu ? 'affineReluForward' : 'affineForward';
    checkAffine(op, x, w, b);
    const out = matmul(x.engine, x, w, { bias: b, relu, label: op });
    return { out, saved: { x, w, b, reluOut: relu ? out : null } as AffineSaved };
  },
  backward(dout: Tensor, saved: AffineSaved, needs?: { dx?: boolean }, into?: { dw?: Tensor; db?: Tensor }): { dx: Tensor | null; dw: Tensor; db: Tensor } {
    if (typeof saved !== 'object' || saved === null) {
      throw new ShadergradError('affineBackward', `cache must be the cache affineForward returned, got ${typeName(saved)}`);
    }
    const { x, w, reluOut } = saved;
    const op = reluOut ? 'affineReluBackward' : 'affineBackward';
    const engine = checkTensors(op, [['dout', dout], ['cache.x', x], ['cache.w', w], ...(reluOut ? [['cache out', reluOut] as const] : [])]);
    const N = x.shape[0]!;
    const M = w.shape[1]!;
    if (dout.rank !== 2 || dout.shape[0] !== N || dout.shape[1] !== M || dout.dtype !== 'f32') {
      throw new ShadergradError(op, `dout ${dout.dtype} ${fmt(dout.shape)} should be f32 [${N}, ${M}] for x ${fmt(x.shape)} and w ${fmt(w.shape)}`);
    }
    const d = reluOut ? reluBackward(engine, dout, reluOut) : dout;
    const dx = needs?.dx === false ? null : matmul(engine, d, w, { transB: true, outShape: x.shape, label: 'affineBackward.dx' });
    const dw = matmul(engine, x, d, { transA: true, label: 'affineBackward.dw', out: into?.dw });
    const db = columnSum(engine, d, N, M, into?.db);
    if (d !== dout) d.dispose();
    return { dx, dw, db };
  },
  temporaries: () => [],
});
