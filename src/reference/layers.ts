// Float64 CPU reference of every layer (tests only): the course's functions, written correctly.

import { type NDArray, like, rowsCols, zeros } from './ndarray';

// ---- affine ------------------------------------------------------------------------------------

export interface AffineCache {
  x: NDArray;
  w: NDArray;
  b: NDArray;
}

/** out = x.reshape(N, D) · w + b, with x (N, d1, …, dk), w (D, M), b (M). */
export function affineForward(x: NDArray, w: NDArray, b: NDArray): { out: NDArray; cache: AffineCache } {
  const [N, D] = rowsCols(x);
  const [Dw, M] = [w.shape[0]!, w.shape[1]!];
  if (D !== Dw || b.data.length !== M) throw new Error('reference affineForward: shape mismatch');
  const out = new Float64Array(N * M);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let s = b.data[m]!;
      for (let d = 0; d < D; d++) s += x.data[n * D + d]! * w.data[d * M + m]!;
      out[n * M + m] = s;
    }
  }
  return { out: { shape: [N, M], data: out }, cache: { x, w, b } };
}

export function affineBackward(dout: NDArray, cache: AffineCache): { dx: NDArray; dw: NDArray; db: NDArray } {
  const { x, w } = cache;
  const [N, D] = rowsCols(x);
  const M = w.shape[1]!;
  const dx = new Float64Array(N * D);
  const dw = new Float64Array(D * M);
  const db = new Float64Array(M);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = dout.data[n * M + m]!;
      db[m] += g;
      for (let d = 0; d < D; d++) {
        dx[n * D + d] += g * w.data[d * M + m]!;
        dw[d * M + m] += x.data[n * D + d]! * g;
      }
    }
  }
  return { dx: like(x, dx), dw: like(w, dw), db: like(cache.b, db) };
}

// ---- ReLU --------------------------------------------------------------------------------------

export function reluForward(x: NDArray): { out: NDArray; cache: NDArray } {
  return { out: like(x, x.data.map((v) => Math.max(0, v))), cache: x };
}

export function reluBackward(dout: NDArray, x: NDArray): NDArray {
  return like(x, x.data.map((v, i) => (v > 0 ? dout.data[i]! : 0)));
}

// ---- batch normalization -----------------------------------------------------------------------

export interface BnParam {
  mode: 'train' | 'test';
  eps?: number;
  momentum?: number;
  runningMean?: NDArray;
  runningVar?: NDArray;
}

export interface BatchnormCache {
  xhat: NDArray;
  gamma: NDArray;
  invStd: Float64Array;
}

/** Batch normalization of x (N, D); train mode uses batch statistics and updates the running ones. */
export function batchnormForward(
  x: NDArray,
  gamma: NDArray,
  beta: NDArray,
  bnParam: BnParam,
): { out: NDArray; cache: BatchnormCache | null } {
  const [N, D] = [x.shape[0]!, x.shape[1]!];
  const eps = bnParam.eps ?? 1e-5;
  const momentum = bnParam.momentum ?? 0.9;
  const runningMean = bnParam.runningMean ?? zeros([D]);
  const runningVar = bnParam.runningVar ?? zeros([D]);
  const out = new Float64Array(N * D);
  if (bnParam.mode === 'train') {
    const mean = new Float64Array(D);
    const variance = new Float64Array(D);
    for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) mean[d] += x.data[n * D + d]! / N;
    for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) variance[d] += (x.data[n * D + d]! - mean[d]!) ** 2 / N;
    const invStd = variance.map((v) => 1 / Math.sqrt(v + eps));
    const xhat = new Float64Array(N * D);
    for (let n = 0; n < N; n++) {
      for (let d = 0; d < D; d++) {
        const i = n * D + d;
        xhat[i] = (x.data[i]! - mean[d]!) * invStd[d]!;
        out[i] = gamma.data[d]! * xhat[i]! + beta.data[d]!;
      }
    }
    bnParam.runningMean = like(runningMean, runningMean.data.map((r, d) => momentum * r + (1 - momentum) * mean[d]!));
    bnParam.runningVar = like(runningVar, runningVar.data.map((r, d) => momentum * r + (1 - momentum) * variance[d]!));
    return { out: like(x, out), cache: { xhat: like(x, xhat), gamma, invStd } };
  }
  if (bnParam.mode !== 'test') throw new Error(`reference batchnormForward: invalid mode "${bnParam.mode}"`);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const i = n * D + d;
      out[i] = (gamma.data[d]! * (x.data[i]! - runningMean.data[d]!)) / Math.sqrt(runningVar.data[d]! + eps) + beta.data[d]!;
    }
  }
  bnParam.runningMean = runningMean;
  bnParam.runningVar = runningVar;
  return { out: like(x, out), cache: null };
}

export function batchnormBackward(dout: NDArray, cache: BatchnormCache): { dx: NDArray; dgamma: NDArray; dbeta: NDArray } {
  const { xhat, gamma, invStd } = cache;
  const [N, D] = [xhat.shape[0]!, xhat.shape[1]!];
  const dgamma = new Float64Array(D);
  const dbeta = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      dgamma[d] += dout.data[n * D + d]! * xhat.data[n * D + d]!;
      dbeta[d] += dout.data[n * D + d]!;
    }
  }
  const dx = new Float64Array(N * D);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const i = n * D + d;
      dx[i] = ((gamma.data[d]! * invStd[d]!) / N) * (N * dout.data[i]! - dbeta[d]! - xhat.data[i]! * dgamma[d]!);
    }
  }
  return { dx: like(xhat, dx), dgamma: like(gamma, dgamma), dbeta: like(gamma, dbeta) };
}

// ---- dropout -----------------------------------------------------------------------------------

/** Inverted dropout with a given keep mask (1 = kept): kept units are scaled by 1/(1−p). */
export function dropoutForward(x: NDArray, p: number, keep: ArrayLike<number> | null): { out: NDArray; mask: Float64Array | null } {
  if (!keep) return { out: x, mask: null };
  const mask = Float64Array.from(keep, (k) => (k ? 1 / (1 - p) : 0));
  return { out: like(x, x.data.map((v, i) => v * mask[i]!)), mask };
}

export function dropoutBackward(dout: NDArray, mask: Float64Array | null): NDArray {
  return mask ? like(dout, dout.data.map((g, i) => g * mask[i]!)) : dout;
}

// ---- losses ------------------------------------------------------------------------------------

/** A label outside [0, C) makes the loss NaN and its dx row NaN (as on the GPU), never another row's data. */
function badLabel(label: number, C: number, dx: Float64Array, row: number): boolean {
  if (Number.isInteger(label) && label >= 0 && label < C) return false;
  dx.fill(NaN, row * C, (row + 1) * C);
  return true;
}

/** Multiclass SVM (hinge, margin 1) averaged over the N rows of x (N, C). */
export function svmLoss(x: NDArray, y: ArrayLike<number>): { loss: number; dx: NDArray } {
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const dx = new Float64Array(N * C);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const label = y[n]!;
    if (badLabel(label, C, dx, n)) {
      loss = NaN;
      continue;
    }
    const correct = x.data[n * C + label]!;
    let positive = 0;
    for (let c = 0; c < C; c++) {
      if (c === label) continue;
      const margin = x.data[n * C + c]! - correct + 1;
      if (margin > 0) {
        loss += margin;
        dx[n * C + c] = 1 / N;
        positive++;
      }
    }
    dx[n * C + label] = -positive / N;
  }
  return { loss: loss / N, dx: like(x, dx) };
}

/** Softmax cross-entropy averaged over the N rows of x (N, C). */
export function softmaxLoss(x: NDArray, y: ArrayLike<number>): { loss: number; dx: NDArray } {
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const dx = new Float64Array(N * C);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    if (badLabel(y[n]!, C, dx, n)) {
      loss = NaN;
      continue;
    }
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, x.data[n * C + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(x.data[n * C + c]! - max);
    const logSum = Math.log(sum) + max;
    loss += logSum - x.data[n * C + y[n]!]!;
    for (let c = 0; c < C; c++) dx[n * C + c] = Math.exp(x.data[n * C + c]! - logSum) / N;
    dx[n * C + y[n]!] -= 1 / N;
  }
  return { loss: loss / N, dx: like(x, dx) };
}

// ---- sandwiches --------------------------------------------------------------------------------

export function affineReluForward(x: NDArray, w: NDArray, b: NDArray) {
  const a = affineForward(x, w, b);
  const r = reluForward(a.out);
  return { out: r.out, cache: { fc: a.cache, relu: r.cache } };
}

export function affineReluBackward(dout: NDArray, cache: { fc: AffineCache; relu: NDArray }) {
  return affineBackward(reluBackward(dout, cache.relu), cache.fc);
}

export function affineBatchnormReluForward(x: NDArray, w: NDArray, b: NDArray, gamma: NDArray, beta: NDArray, bnParam: BnParam) {
  const a = affineForward(x, w, b);
  const n = batchnormForward(a.out, gamma, beta, bnParam);
  const r = reluForward(n.out);
  return { out: r.out, cache: { fc: a.cache, bn: n.cache!, relu: r.cache } };
}

export function affineBatchnormReluBackward(dout: NDArray, cache: { fc: AffineCache; bn: BatchnormCache; relu: NDArray }) {
  const { dx: dn, dgamma, dbeta } = batchnormBackward(reluBackward(dout, cache.relu), cache.bn);
  return { ...affineBackward(dn, cache.fc), dgamma, dbeta };
}
