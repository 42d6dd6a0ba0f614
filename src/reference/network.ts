// Float64 reference of the fully-connected network's loss and gradients (tests only).

import type { NDArray } from './ndarray';
import * as ref from './layers';

export interface ReferenceNetwork {
  numLayers: number;
  batchnorm: boolean;
  /** Probability of dropping a hidden unit; 0 for none. */
  dropout: number;
  reg: number;
  params: Record<string, NDArray>;
  /** Batchnorm state per hidden layer (running averages are updated in train mode). */
  bnParams?: ref.BnParam[];
  /** The keep mask (1 kept, 0 dropped) of hidden layer l for a given element count. */
  dropoutKeep?: (layer: number, size: number) => ArrayLike<number>;
}

type LayerCache = { fc: ref.AffineCache; bn: ref.BatchnormCache | null; relu: NDArray; mask: Float64Array | null };

/** The forward pass in `mode`: the scores, and what backward needs (each hidden layer's caches, the last affine's). */
function forward(net: ReferenceNetwork, X: NDArray, mode: 'train' | 'test'): { scores: NDArray; last: ref.AffineCache; caches: LayerCache[] } {
  const p = net.params;
  const bnParams = net.bnParams ?? [];
  const caches: LayerCache[] = [];
  let h = X;
  for (let l = 1; l < net.numLayers; l++) {
    const a = ref.affineForward(h, p[`W${l}`]!, p[`b${l}`]!);
    let z = a.out;
    let bnCache: ref.BatchnormCache | null = null;
    if (net.batchnorm) {
      const bnParam = (bnParams[l - 1] ??= { mode });
      bnParam.mode = mode;
      const n = ref.batchnormForward(z, p[`gamma${l}`]!, p[`beta${l}`]!, bnParam);
      z = n.out;
      bnCache = n.cache;
    }
    const r = ref.reluForward(z);
    h = r.out;
    let mask: Float64Array | null = null;
    if (net.dropout > 0 && mode === 'train') {
      const d = ref.dropoutForward(h, net.dropout, net.dropoutKeep!(l, h.data.length));
      h = d.out;
      mask = d.mask;
    }
    caches.push({ fc: a.cache, bn: bnCache, relu: r.cache, mask });
  }
  const L = net.numLayers;
  const last = ref.affineForward(h, p[`W${L}`]!, p[`b${L}`]!);
  return { scores: last.out, last: last.cache, caches };
}

/** `loss` plus 0.5·reg·‖W‖² of each weight matrix, added in layer order. */
function withL2(net: ReferenceNetwork, loss: number): number {
  for (let l = 1; l <= net.numLayers; l++) {
    let ss = 0;
    for (const v of net.params[`W${l}`]!.data) ss += v * v;
    loss += 0.5 * net.reg * ss;
  }
  return loss;
}

/** The train-mode loss alone (a forward pass, no gradients): a step's first loss, a quarter of networkLoss's work. */
export function networkTrainLoss(net: ReferenceNetwork, X: NDArray, y: ArrayLike<number>): number {
  return withL2(net, ref.softmaxLoss(forward(net, X, 'train').scores, y).loss);
}

/** Test-mode scores, or train-mode loss and gradients, like the course's FullyConnectedNet.loss. */
export function networkLoss(net: ReferenceNetwork, X: NDArray): NDArray;
export function networkLoss(net: ReferenceNetwork, X: NDArray, y: ArrayLike<number>): { loss: number; grads: Record<string, NDArray> };
export function networkLoss(net: ReferenceNetwork, X: NDArray, y?: ArrayLike<number>) {
  const { scores, last, caches } = forward(net, X, y === undefined ? 'test' : 'train');
  if (y === undefined) return scores;
  const p = net.params;
  const L = net.numLayers;
  const { loss: dataLoss, dx: dscores } = ref.softmaxLoss(scores, y);
  const grads: Record<string, NDArray> = {};
  const g = ref.affineBackward(dscores, last);
  grads[`W${L}`] = g.dw;
  grads[`b${L}`] = g.db;
  let dh = g.dx;
  for (let l = L - 1; l >= 1; l--) {
    const c = caches[l - 1]!;
    if (c.mask) dh = ref.dropoutBackward(dh, c.mask);
    let dz = ref.reluBackward(dh, c.relu);
    if (c.bn) {
      const b = ref.batchnormBackward(dz, c.bn);
      grads[`gamma${l}`] = b.dgamma;
      grads[`beta${l}`] = b.dbeta;
      dz = b.dx;
    }
    const a = ref.affineBackward(dz, c.fc);
    grads[`W${l}`] = a.dw;
    grads[`b${l}`] = a.db;
    dh = a.dx;
  }
  for (let l = 1; l <= L; l++) {
    const W = p[`W${l}`]!;
    const gw = grads[`W${l}`]!;
    grads[`W${l}`] = { shape: gw.shape, data: gw.data.map((v, i) => v + net.reg * W.data[i]!) };
  }
  return { loss: withL2(net, dataLoss), grads };
}
