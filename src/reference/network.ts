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

/** Test-mode scores, or train-mode loss and gradients, like the course's FullyConnectedNet.loss. */
export function networkLoss(net: ReferenceNetwork, X: NDArray): NDArray;
export function networkLoss(net: ReferenceNetwork, X: NDArray, y: ArrayLike<number>): { loss: number; grads: Record<string, NDArray> };
export function networkLoss(net: ReferenceNetwork, X: NDArray, y?: ArrayLike<number>) {
  const mode = y === undefined ? 'test' : 'train';
  const p = net.params;
  const bnParams = net.bnParams ?? [];
  const caches: Array<{ fc: ref.AffineCache; bn: ref.BatchnormCache | null; relu: NDArray; mask: Float64Array | null }> = [];
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
  if (y === undefined) return last.out;
  const { loss: dataLoss, dx: dscores } = ref.softmaxLoss(last.out, y);
  let loss = dataLoss;
  const grads: Record<string, NDArray> = {};
  const g = ref.affineBackward(dscores, last.cache);
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
    let ss = 0;
    for (const v of W.data) ss += v * v;
    loss += 0.5 * net.reg * ss;
    const gw = grads[`W${l}`]!;
    grads[`W${l}`] = { shape: gw.shape, data: gw.data.map((v, i) => v + net.reg * W.data[i]!) };
  }
  return { loss, grads };
}
