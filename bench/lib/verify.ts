// Result checks at the timed sizes: what a timed row's output is compared with, and how closely it must agree (pure CPU code, no GPU).

import { type BnParam, batchnormBackward, batchnormForward, softmaxLoss } from '../../src/reference/layers';
import { type NDArray, nd } from '../../src/reference/ndarray';
import { networkTrainLoss, type ReferenceNetwork } from '../../src/reference/network';
import { relativeError } from '../../src/reference/gradcheck';
import { ADAM, BN_EPS, BN_MOMENTUM, MODEL, type MatmulCase, type TrainCase, type Weights } from './cases';

/** Unit roundoff of f32 (2^-24). */
export const F32_U = 2 ** -24;

/**
 * ‖C − C_ref‖ / ‖C_ref‖ allowed for an f32 product with inner dimension K, against float64 or
 * against another f32 implementation. A dot product summed in f32 in order carries one rounding of
 * about u·|partial sum| per term; with random signs (these inputs are uniform in [-1, 1)) the
 * partial sums grow as √k and the errors add as a random walk, so the sum is off by about
 * u·K/√6 against a value of size √K: a relative error of ~0.4·u·√K ≈ 2.4e-8·√K (measured: 1.6e-7
 * at K = 70). Blocked or split sums (tiles, split-K, pairwise) err less. Two f32 implementations
 * differ by ~√2 of that. The bound is 4e-7·√K, ~16× the expected error of an in-order sum: 1.3e-6
 * at K = 10, 1.3e-5 at 1024, 2.6e-5 at 4096. A wrong tile, row or column of a 4096² output moves
 * the norm by ≥ 1/64 relative; a single wrong element of magnitude ~√K among 16M by ~2.4e-4.
 */
export function matmulTolerance(K: number): number {
  return 4e-7 * Math.sqrt(K);
}

/** Products up to this many multiply-adds (M·N·K) get a full float64 reference; larger ones a sampled one. */
export const FULL_REFERENCE_LIMIT = 2e8;
/** The sampled float64 reference: up to this many rows × this many columns of the output. */
export const SAMPLED_LINES = 128;

/**
 * `count` indices of 0…n−1 (all of them when n ≤ count), one in each of `count` equal strides,
 * at a varying offset inside its stride (so a tile of any size ≥ n/count is hit, at varying
 * positions inside tiles), always 0 and n − 1 (the first and the edge tile).
 */
export function sampleIndices(n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const stride = n / count;
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    const offset = (k * 0.6180339887498949) % 1; // golden-ratio sequence: evenly spread offsets
    out.push(Math.min(n - 1, Math.floor((k + offset) * stride)));
  }
  out[0] = 0;
  out[count - 1] = n - 1;
  return out;
}

/** op(A)·op(B) in float64 at the entries rows × cols (row-major, rows.length × cols.length), A stored K×M when transA, B N×K when transB. */
export function matmulReferenceAt(c: MatmulCase, a: ArrayLike<number>, b: ArrayLike<number>, rows: readonly number[], cols: readonly number[]): Float64Array {
  const { M, K, N, transA, transB } = c;
  if (a.length !== M * K || b.length !== K * N) throw new Error(`matmulReferenceAt: operands of ${a.length} and ${b.length} values for ${M}x${K}x${N}`);
  // Each wanted column of op(B) and row of op(A) contiguous in float64, then dot products.
  const colsB = new Float64Array(cols.length * K);
  cols.forEach((j, q) => {
    for (let k = 0; k < K; k++) colsB[q * K + k] = transB ? b[j * K + k]! : b[k * N + j]!;
  });
  const out = new Float64Array(rows.length * cols.length);
  const rowA = new Float64Array(K);
  rows.forEach((i, p) => {
    for (let k = 0; k < K; k++) rowA[k] = transA ? a[k * M + i]! : a[i * K + k]!;
    for (let q = 0; q < cols.length; q++) {
      let s = 0;
      const base = q * K;
      for (let k = 0; k < K; k++) s += rowA[k]! * colsB[base + k]!;
      out[p * cols.length + q] = s;
    }
  });
  return out;
}

/** The values of a row-major M×N output (N columns) at rows × cols. */
export function gatherAt(got: ArrayLike<number>, N: number, rows: readonly number[], cols: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length * cols.length);
  rows.forEach((i, p) => cols.forEach((j, q) => (out[p * cols.length + q] = got[i * N + j]!)));
  return out;
}

/** A product's float64 reference for the timed-size check: whole where M·N·K ≤ FULL_REFERENCE_LIMIT, else at SAMPLED_LINES² sampled entries. */
export interface ProductReference {
  rows: number[];
  cols: number[];
  values: Float64Array;
  full: boolean;
}

export function productReference(c: MatmulCase, a: ArrayLike<number>, b: ArrayLike<number>): ProductReference {
  const full = c.M * c.N * c.K <= FULL_REFERENCE_LIMIT;
  const rows = full ? sampleIndices(c.M, c.M) : sampleIndices(c.M, SAMPLED_LINES);
  const cols = full ? sampleIndices(c.N, c.N) : sampleIndices(c.N, SAMPLED_LINES);
  return { rows, cols, values: matmulReferenceAt(c, a, b, rows, cols), full };
}

/** ‖got − ref‖ / ‖ref‖ over the reference's entries (the whole output when it is full). */
export function matmulError(got: ArrayLike<number>, c: MatmulCase, ref: ProductReference): number {
  if (got.length !== c.M * c.N) throw new Error(`matmul ${c.name}: ${got.length} values, expected ${c.M * c.N}`);
  return relativeError(ref.full ? got : gatherAt(got, c.N, ref.rows, ref.cols), ref.values);
}

/** ‖got − ref‖ / ‖ref‖ of ReLU forward (max(x, 0)) or backward (dy where x > 0) against float64, without materializing the reference. */
export function reluError(op: 'relu-forward' | 'relu-backward', got: ArrayLike<number>, x: ArrayLike<number>, dy: ArrayLike<number>): number {
  if (got.length !== x.length) throw new Error(`${op}: ${got.length} values, expected ${x.length}`);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < x.length; i++) {
    const ref = x[i]! > 0 ? (op === 'relu-forward' ? x[i]! : dy[i]!) : 0;
    diff += (got[i]! - ref) ** 2;
    norm += ref * ref;
  }
  return norm > 0 ? Math.sqrt(diff / norm) : Math.sqrt(diff);
}

/**
 * Dropout by what it must do (the implementations draw different masks): every nonzero output is
 * x / keep — `worst` is the largest relative deviation among them (Infinity for a wrong length, NaN
 * for a NaN output) — and `fraction` of them are kept.
 */
export function dropoutStats(got: ArrayLike<number>, x: ArrayLike<number>, keep: number): { worst: number; fraction: number } {
  let kept = 0;
  let worst = got.length === x.length ? 0 : Infinity;
  for (let i = 0; i < got.length; i++) {
    if (got[i] === 0) continue;
    kept++;
    const want = x[i]! / keep;
    worst = Math.max(worst, Math.abs(got[i]! - want) / Math.abs(want)); // NaN stays NaN
  }
  return { worst, fraction: kept / x.length };
}

/** Dropout's kept fraction over n draws may be off from `keep` by 5σ of the binomial, relative: 5·√((1 − keep) / (keep·n)) (7.8% at 4099, 1.4% at 256×512, 0.24% at 4M, 0.12% at 16M). */
export function dropoutFractionTolerance(n: number, keep: number): number {
  return 5 * Math.sqrt((1 - keep) / (keep * n));
}

export interface BatchnormReference {
  out: Float64Array;
  /** The running averages after `runs` forwards of x from zeros. */
  runningMean: Float64Array;
  runningVar: Float64Array;
  /**
   * The same running average of each column's mean of |x|: the scale the running mean's f32 column
   * sums are accurate to (the mean of centred data is a cancelling sum, far smaller than its terms).
   */
  runningAbsMean: Float64Array;
  dx?: Float64Array;
  dgamma?: Float64Array;
  dbeta?: Float64Array;
}

/**
 * Train-mode batchnorm of x (N×D, gamma 1, beta 0, the bench's eps and momentum) in float64: the
 * forward's out and its running averages after `runs` forwards, and the backward's dx, dgamma,
 * dbeta for dout.
 */
export function batchnormReference(N: number, D: number, x: ArrayLike<number>, dout?: ArrayLike<number>, runs = 1): BatchnormReference {
  const gamma = nd(new Float64Array(D).fill(1), [D]);
  const beta = nd(new Float64Array(D), [D]);
  const bnParam: BnParam = { mode: 'train', eps: BN_EPS, momentum: BN_MOMENTUM };
  const f = batchnormForward(nd(x, [N, D]), gamma, beta, bnParam);
  // Every forward sees the same batch: the first one's update, repeated (momentum·r + (1 − momentum)·stat).
  const running = (first: Float64Array) => {
    const r = Float64Array.from(first);
    for (let k = 1; k < runs; k++) for (let d = 0; d < D; d++) r[d] = BN_MOMENTUM * r[d]! + first[d]!;
    return r;
  };
  const absMean = new Float64Array(D);
  for (let i = 0; i < N * D; i++) absMean[i % D] += Math.abs(x[i]!);
  const firstAbs = absMean.map((v) => ((1 - BN_MOMENTUM) * v) / N);
  const stats = {
    out: f.out.data,
    runningMean: running(bnParam.runningMean!.data),
    runningVar: running(bnParam.runningVar!.data),
    runningAbsMean: running(firstAbs),
  };
  if (!dout) return stats;
  const b = batchnormBackward(nd(dout, [N, D]), f.cache!);
  return { ...stats, dx: b.dx.data, dgamma: b.dgamma.data, dbeta: b.dbeta.data };
}

/** The running mean's error, ‖got − ref‖ over ‖running mean of |x|‖ (see runningAbsMean). */
export function runningMeanError(got: ArrayLike<number>, ref: BatchnormReference): number {
  let diff = 0;
  let scale = 0;
  for (let d = 0; d < ref.runningMean.length; d++) {
    diff += (got[d]! - ref.runningMean[d]!) ** 2;
    scale += ref.runningAbsMean[d]! ** 2;
  }
  return Number.isNaN(diff) ? Infinity : Math.sqrt(diff / scale);
}

/** Softmax cross-entropy of N×C scores in float64: the mean loss and dx. */
export function softmaxReference(N: number, C: number, scores: ArrayLike<number>, labels: ArrayLike<number>): { loss: number; dx: Float64Array } {
  const r = softmaxLoss(nd(scores, [N, C]), labels);
  return { loss: r.loss, dx: r.dx.data };
}

/**
 * Adam after `steps` updates of w0 by the same gradient g, in float64 (the bench's optimizer row
 * replays one update on fixed w and dw). With a constant gradient the moments are m_t = (1 − β1^t)·g
 * and v_t = (1 − β2^t)·g², so every bias-corrected step is lr·g / (|g| + ε), and
 * w_k = w0 − k·lr·g / (|g| + ε) exactly (the test checks this against refUpdate step by step).
 */
export function adamReference(w0: ArrayLike<number>, g: ArrayLike<number>, steps: number, { learningRate: lr, epsilon } = ADAM): Float64Array {
  const out = new Float64Array(w0.length);
  for (let i = 0; i < w0.length; i++) out[i] = w0[i]! - (steps * lr * g[i]!) / (Math.abs(g[i]!) + epsilon);
  return out;
}

/**
 * The relative error allowed for k f32 Adam updates against adamReference, a worst-case bound.
 * Each update rounds w by at most u·|w_t|, and |w_t| ≤ max(|w0|, |w_k|) (under a constant gradient
 * every element moves one way). Each step's size lr·m̂ / (√v̂ + ε) is off by at most c·u·lr: m and v
 * carry the roundings of every earlier step, decayed by β — relative 2u / (1 − β1) and 2u / (1 − β2),
 * the latter halved by the root — and 8u covers the products, root and division: c = 2 / (1 − β1)
 * + 1 / (1 − β2) + 8 (1028 for the bench's β). So ‖err‖ ≤ k·u·(‖max(|w0|, |w_k|)‖ + c·lr·√n),
 * divided by ‖w_k‖; 1e-6 at least. (About 2.7·k·u for these inputs; a missed update, or one without
 * bias correction, is off by ~lr / |w| ≈ 1e-3.)
 */
export function adamTolerance(w0: ArrayLike<number>, ref: ArrayLike<number>, steps: number, { learningRate: lr, beta1, beta2 } = ADAM): number {
  let big = 0;
  let norm = 0;
  for (let i = 0; i < ref.length; i++) {
    big += Math.max(Math.abs(w0[i]!), Math.abs(ref[i]!)) ** 2;
    norm += ref[i]! ** 2;
  }
  const c = 2 / (1 - beta1) + 1 / (1 - beta2) + 8;
  const bound = (steps * F32_U * (Math.sqrt(big) + c * lr * Math.sqrt(ref.length))) / Math.sqrt(norm || 1);
  return Math.max(1e-6, bound);
}

/** The bench's model (no dropout, no regularization) as a float64 reference network, from `weights` (copied). */
export function referenceNetwork(c: TrainCase, weights: Weights): ReferenceNetwork {
  const params: Record<string, NDArray> = {};
  for (const [name, { data, shape }] of Object.entries(weights)) params[name] = nd(data, shape);
  const bnParams = MODEL.hiddenDims.map((): BnParam => ({ mode: 'train', eps: BN_EPS, momentum: BN_MOMENTUM }));
  return { numLayers: MODEL.hiddenDims.length + 1, batchnorm: c.batchnorm, dropout: 0, reg: 0, params, bnParams };
}

/**
 * The first-step loss of the model (batchnorm in train mode) on the batch (X, y) from `weights`, in
 * float64 — a forward pass only (referenceLosses in run.ts also takes the backward and a second
 * forward, which is 4× the work: too much at batch 1024).
 */
export function referenceFirstLoss(c: TrainCase, weights: Weights, X: ArrayLike<number>, y: ArrayLike<number>): number {
  return networkTrainLoss(referenceNetwork(c, weights), nd(X, [c.batch, MODEL.inputDim]), y);
}
