// The benchmark's result checks at the timed sizes (bench/lib/verify.ts): each passes a right answer and fails a deliberately wrong one (CPU only, no adapter).

import { describe, expect, it } from 'vitest';
import { ADAM, BN_EPS, BN_MOMENTUM, initialWeights, seededArray, seededLabels, MODEL, type MatmulCase } from '../../bench/lib/cases';
import { formatSummary, formatTable } from '../../bench/lib/report';
import type { Report } from '../../bench/lib/types';
import {
  adamReference,
  adamTolerance,
  batchnormReference,
  dropoutFractionTolerance,
  dropoutStats,
  matmulError,
  matmulReferenceAt,
  matmulTolerance,
  productReference,
  referenceFirstLoss,
  reluError,
  runningMeanError,
  sampleIndices,
  FULL_REFERENCE_LIMIT,
} from '../../bench/lib/verify';
import { batchnormForward, type BnParam } from '../../src/reference/layers';
import { matmul, nd } from '../../src/reference/ndarray';
import { networkLoss } from '../../src/reference/network';
import { refUpdate } from '../../src/reference/optim';

const all = (n: number) => Array.from({ length: n }, (_, i) => i);
const mm = (M: number, K: number, N: number, transA = false, transB = false): MatmulCase => ({ name: `${M}x${K}x${N}`, M, K, N, transA, transB });

describe('bench checks: matmul at the timed size', () => {
  it('the float64 product at chosen entries is the reference matmul, for every transpose', () => {
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const c = mm(13, 17, 11, transA, transB);
      const a = seededArray(c.M * c.K, 1);
      const b = seededArray(c.K * c.N, 2);
      const want = matmul(nd(a, transA ? [c.K, c.M] : [c.M, c.K]), nd(b, transB ? [c.N, c.K] : [c.K, c.N]), transA, transB).data;
      expect(Array.from(matmulReferenceAt(c, a, b, all(c.M), all(c.N)))).toEqual(Array.from(want));
      const rows = [0, 5, 12];
      const cols = [3, 10];
      const some = matmulReferenceAt(c, a, b, rows, cols);
      rows.forEach((i, p) => cols.forEach((j, q) => expect(some[p * cols.length + q]).toBe(want[i * c.N + j])));
    }
  });

  it('samples one index per stride at varying offsets, always the first and the last', () => {
    expect(sampleIndices(5, 128)).toEqual([0, 1, 2, 3, 4]);
    for (const n of [1000, 1024, 4096]) {
      const s = sampleIndices(n, 128);
      expect(s.length).toBe(128);
      expect(s[0]).toBe(0);
      expect(s[127]).toBe(n - 1);
      for (let k = 1; k < s.length; k++) expect(s[k]!).toBeGreaterThan(s[k - 1]!);
      // Every 32-wide tile holds at least one sampled index (n / 128 ≤ 32).
      for (let t = 0; t < n; t += 32) expect(s.some((i) => i >= t && i < t + 32)).toBe(true);
      // The offsets inside a stride vary (a tile's interior, not only its first row).
      expect(new Set(s.map((i) => i % Math.floor(n / 128))).size).toBeGreaterThan(4);
    }
  });

  it('an in-order f32 sum (the least accurate order) passes at K = 4096 with a wide margin; one wrong element fails', () => {
    const c = mm(16, 4096, 16);
    const a = seededArray(c.M * c.K, 3);
    const b = seededArray(c.K * c.N, 4);
    const got = new Float32Array(c.M * c.N);
    for (let i = 0; i < c.M; i++) {
      for (let j = 0; j < c.N; j++) {
        let s = 0;
        for (let k = 0; k < c.K; k++) s = Math.fround(s + Math.fround(a[i * c.K + k]! * b[k * c.N + j]!));
        got[i * c.N + j] = s;
      }
    }
    const ref = productReference(c, a, b);
    expect(ref.full).toBe(true);
    const err = matmulError(got, c, ref);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(matmulTolerance(c.K) / 4);
    const wrong = got.slice();
    wrong[77] = wrong[77]! + 1; // one element off by ~1/√K of a typical entry's size
    expect(matmulError(wrong, c, ref)).toBeGreaterThan(matmulTolerance(c.K));
  });

  it('a product past the full-reference limit is checked at sampled entries, which see a wrong 32×32 tile, a wrong last row and a wrong length', () => {
    const c = mm(1024, 256, 1024, false, true);
    expect(c.M * c.N * c.K).toBeGreaterThan(FULL_REFERENCE_LIMIT);
    const a = seededArray(c.M * c.K, 5);
    const b = seededArray(c.K * c.N, 6);
    const ref = productReference(c, a, b);
    expect(ref.full).toBe(false);
    expect(ref.values.length).toBe(128 * 128);
    const right = Float32Array.from(matmulReferenceAt(c, a, b, all(c.M), all(c.N)));
    expect(matmulError(right, c, ref)).toBeLessThan(1e-7);
    const tile = right.slice();
    for (let i = 512; i < 544; i++) for (let j = 96; j < 128; j++) tile[i * c.N + j] = 0;
    expect(matmulError(tile, c, ref)).toBeGreaterThan(matmulTolerance(c.K));
    const lastRow = right.slice();
    lastRow.fill(0, (c.M - 1) * c.N);
    expect(matmulError(lastRow, c, ref)).toBeGreaterThan(matmulTolerance(c.K));
    const nan = right.slice();
    nan[0] = NaN;
    expect(matmulError(nan, c, ref) <= matmulTolerance(c.K)).toBe(false);
    expect(() => matmulError(right.subarray(1), c, ref)).toThrow(/values, expected/);
  });
});

describe('bench checks: elementwise at the timed size', () => {
  const n = 1 << 16;
  const x = seededArray(n, 3);
  const dy = seededArray(n, 4);

  it('ReLU forward and backward are exact; a wrong mask or value fails', () => {
    const fwd = Float32Array.from(x, (v) => Math.max(v, 0));
    const bwd = Float32Array.from(x, (v, i) => (v > 0 ? dy[i]! : 0));
    expect(reluError('relu-forward', fwd, x, dy)).toBe(0);
    expect(reluError('relu-backward', bwd, x, dy)).toBe(0);
    const leaky = Float32Array.from(x, (v) => (v > 0 ? v : 0.01 * v));
    expect(reluError('relu-forward', leaky, x, dy)).toBeGreaterThan(1e-6);
    const wrongMask = Float32Array.from(x, (v, i) => (v >= 0 ? dy[i]! : 0));
    wrongMask[n - 1] = dy[n - 1]!; // one more unit let through
    expect(reluError('relu-backward', wrongMask, x, dy)).toBeGreaterThan(1e-6);
  });

  it('dropout: kept values must be x / keep and the kept fraction within 5σ of the binomial', () => {
    const keep = 0.5;
    const tol = dropoutFractionTolerance(n, keep);
    expect(dropoutFractionTolerance(4099, 0.5)).toBeCloseTo(0.078, 3); // the agreement check's 5σ
    const u = seededArray(n, 9);
    const right = Float32Array.from(x, (v, i) => (u[i]! >= 0 ? v / keep : 0));
    const ok = dropoutStats(right, x, keep);
    expect(ok.worst).toBe(0);
    expect(Math.abs(ok.fraction - keep) / keep).toBeLessThan(tol);
    // Not rescaled.
    expect(dropoutStats(Float32Array.from(x, (v, i) => (u[i]! >= 0 ? v : 0)), x, keep).worst).toBeCloseTo(0.5, 6);
    // Keeps 60%: every kept value right, the fraction wrong.
    const many = dropoutStats(Float32Array.from(x, (v, i) => (i % 5 < 3 ? v / keep : 0)), x, keep);
    expect(many.worst).toBe(0);
    expect(Math.abs(many.fraction - keep) / keep).toBeGreaterThan(tol);
    // A NaN output, a short output.
    const nan = right.slice();
    nan[3] = NaN;
    expect(dropoutStats(nan, x, keep).worst <= 1e-6).toBe(false);
    expect(dropoutStats(right.subarray(1), x, keep).worst).toBe(Infinity);
  });
});

describe('bench checks: Adam after k updates with a fixed gradient', () => {
  const n = 4096;
  const w0 = seededArray(n, 9);
  const g = seededArray(n, 10, 1e-2);

  it('the closed form is refUpdate applied k times', () => {
    const w = Float64Array.from(w0);
    const config = { ...ADAM };
    for (let t = 0; t < 50; t++) refUpdate('adam', w, g, config);
    const closed = adamReference(w0, g, 50);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(w[i]! - closed[i]!));
    expect(worst).toBeLessThan(1e-12);
  });

  it('f32 updates stay within the bound; updates without bias correction, or one update too few, fail', () => {
    const k = 300;
    const { learningRate: lr, beta1: b1, beta2: b2, epsilon } = ADAM;
    const f = Math.fround;
    const run = (steps: number, corrected: boolean) => {
      const w = Float32Array.from(w0);
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      for (let t = 1; t <= steps; t++) {
        const [c1, c2] = corrected ? [1 / (1 - b1 ** t), 1 / (1 - b2 ** t)] : [1, 1];
        for (let i = 0; i < n; i++) {
          m[i] = f(f(b1 * m[i]!) + f((1 - b1) * g[i]!));
          v[i] = f(f(b2 * v[i]!) + f(f((1 - b2) * g[i]!) * g[i]!));
          w[i] = f(w[i]! - f(f(lr * f(m[i]! * c1)) / f(Math.sqrt(f(v[i]! * c2)) + epsilon)));
        }
      }
      return w;
    };
    const ref = adamReference(w0, g, k);
    const tol = adamTolerance(w0, ref, k);
    const rel = (w: Float32Array) => {
      let d = 0;
      let s = 0;
      for (let i = 0; i < n; i++) {
        d += (w[i]! - ref[i]!) ** 2;
        s += ref[i]! ** 2;
      }
      return Math.sqrt(d / s);
    };
    expect(rel(run(k, true))).toBeLessThan(tol);
    expect(rel(run(k, false))).toBeGreaterThan(tol);
    expect(rel(run(k - 1, true))).toBeGreaterThan(tol);
  });
});

describe('bench checks: batchnorm\'s running averages after k forwards', () => {
  const [N, D] = [64, 5];
  const x = seededArray(N * D, 7);
  it('are the reference forward\'s, run k times on the same batch', () => {
    const bnParam: BnParam = { mode: 'train', eps: BN_EPS, momentum: BN_MOMENTUM };
    for (let k = 1; k <= 3; k++) {
      batchnormForward(nd(x, [N, D]), nd(new Float64Array(D).fill(1), [D]), nd(new Float64Array(D), [D]), bnParam);
      const ref = batchnormReference(N, D, x, undefined, k);
      expect(Math.max(...ref.runningMean.map((v, d) => Math.abs(v - bnParam.runningMean!.data[d]!)))).toBeLessThan(1e-15);
      expect(Math.max(...ref.runningVar.map((v, d) => Math.abs(v - bnParam.runningVar!.data[d]!)))).toBeLessThan(1e-15);
    }
  });

  it('the running mean is measured against the mean of |x| (it cancels): f32 rounding passes, one forward too few fails', () => {
    const ref = batchnormReference(N, D, x, undefined, 3);
    expect(runningMeanError(ref.runningMean, ref)).toBe(0);
    expect(runningMeanError(Float32Array.from(ref.runningMean), ref)).toBeLessThan(1e-6);
    expect(runningMeanError(batchnormReference(N, D, x, undefined, 2).runningMean, ref)).toBeGreaterThan(1e-2);
    expect(runningMeanError(ref.runningMean.map((v) => v + Number.NaN), ref)).toBe(Infinity);
  });
});

describe('bench checks: the first-step loss of the train rows', () => {
  it('the forward-only float64 loss is the reference network\'s (plain and batchnorm)', () => {
    for (const batchnorm of [false, true]) {
      const batch = 32;
      const weights = initialWeights(batchnorm);
      const X = seededArray(batch * MODEL.inputDim, 21);
      const y = seededLabels(batch, MODEL.numClasses, 22);
      const params: Record<string, ReturnType<typeof nd>> = {};
      for (const [name, { data, shape }] of Object.entries(weights)) params[name] = nd(data, shape);
      const want = networkLoss({ numLayers: MODEL.hiddenDims.length + 1, batchnorm, dropout: 0, reg: 0, params }, nd(X, [batch, MODEL.inputDim]), y).loss;
      expect(Math.abs(referenceFirstLoss({ name: '', batch, batchnorm, dropout: false }, weights, X, y) - want)).toBeLessThan(1e-12);
    }
  });
});

describe('bench report: a timed row whose check failed', () => {
  it('is marked ✗ in the table and counted in the summary', () => {
    const row = (impl: 'shadergrad' | 'jax-js', ms: number) => ({ suite: 'matmul' as const, case: '4096x4096x4096', impl, ms, gflops: 1, timing: 'gpu-timestamp' as const, wallMs: ms, spread: [ms, ms] as [number, number], samples: 3, reps: 1 });
    const check = (impl: 'shadergrad' | 'jax-js', ok: boolean, timed: boolean) => ({
      name: timed ? 'matmul 4096x4096x4096 NN at the timed size (whole output)' : 'matmul 64x70x33 NN',
      impl,
      value: null,
      reference: null,
      against: timed ? 'shadergrad' : 'float64 CPU',
      relErr: ok ? 1e-6 : 0.5,
      tolerance: 2.6e-5,
      ok,
      ...(timed ? { suite: 'matmul' as const, case: '4096x4096x4096' } : {}),
    });
    const report: Report = {
      adapter: { vendor: 'v', architecture: 'a', description: 'd' },
      rows: [row('shadergrad', 3.5), row('jax-js', 11)],
      checks: [check('shadergrad', true, false), check('jax-js', true, false), check('shadergrad', true, true), check('jax-js', false, true)],
      impls: [],
      notes: [],
      environment: 'test',
      quick: false,
      startedAt: '',
      seconds: 1,
    };
    const table = formatTable(report);
    const line = table.split('\n').find((l) => l.startsWith('matmul'))!;
    expect(line).toMatch(/3\.50 ms \(t\) 1\.00 GFLOP\/s {2,}11\.00 ms \(t\) 1\.00 GFLOP\/s ✗/);
    const summary = formatSummary(report);
    expect(summary).toContain('checks (3/4 ok; 2/2 at small sizes before the suites, 1/2 on the timed rows\' results):');
    expect(summary).toMatch(/FAIL jax-js +matmul 4096x4096x4096 NN at the timed size \(whole output\) \(vs shadergrad\) rel\. error 5\.00e-1/);
  });
});
