// Batch normalization cases: the course's sanity checks, float64 reference, gradients, the sandwich, bad input.

import { layers } from '../../src/index';
import type { Engine } from '../../src/engine/engine';
import type { BnParam } from '../../src/layers/index';
import { type ColumnLayout, batchnormGrads, batchnormTest, batchnormTrain } from '../../src/kernels/batchnorm';
import { batchnorm } from '../../src/ops/batchnorm';
import { Random } from '../../src/random';
import * as ref from '../../src/reference/layers';
import { numericGradientArray } from '../../src/reference/gradcheck';
import { type NDArray, nd } from '../../src/reference/ndarray';
import type { Tensor } from '../../src/tensor';
import { TOL, type TestCase, download, expectClose, expectCloseOrNaN, expectTensor, expectThrows, expectTrue, randn, upload } from '../harness/check';

/** The course's batchnorm input: relu(X·W1)·W2 with X (N, 50) drawn anew, W1 (50, 60) and W2 (60, 3) fixed. */
class CourseActivations {
  private readonly W1: NDArray;
  private readonly W2: NDArray;

  constructor(private readonly rng: Random) {
    this.W1 = randn(rng, [50, 60]);
    this.W2 = randn(rng, [60, 3]);
  }

  /** A new batch, rounded to f32 so the GPU and the reference see the same values. */
  batch(N: number): NDArray {
    const X = randn(this.rng, [N, 50]);
    const hidden = ref.reluForward(ref.affineForward(X, this.W1, nd(new Float64Array(60), [60])).out).out;
    const a = ref.affineForward(hidden, this.W2, nd(new Float64Array(3), [3])).out;
    return nd(a.data.map(Math.fround), a.shape);
  }
}

/** Per-column mean and (biased) standard deviation of an N×D row-major array, in float64. */
function columnStats(data: ArrayLike<number>, N: number, D: number): { means: Float64Array; stds: Float64Array } {
  const means = new Float64Array(D);
  const stds = new Float64Array(D);
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) means[d] += data[n * D + d]! / N;
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) stds[d] += (data[n * D + d]! - means[d]!) ** 2 / N;
  return { means, stds: stds.map(Math.sqrt) };
}

function expectAllNear(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  for (let i = 0; i < actual.length; i++) {
    expectTrue(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}: [${Array.from(actual).join(', ')}] is not within ${tol} of [${Array.from(expected).join(', ')}]`);
  }
}

/** The reference's running statistics, which a train-mode forward pass always leaves set. */
function refRunning(bnParam: ref.BnParam): { mean: NDArray; variance: NDArray } {
  return { mean: bnParam.runningMean!, variance: bnParam.runningVar! };
}

function disposeAll(...tensors: Array<Tensor | undefined | null>): void {
  for (const t of tensors) t?.dispose();
}

/** Train forward, running averages over several steps, test forward and backward against float64. */
async function compareWithReference(engine: Engine, N: number, D: number, seed: number, steps = 3): Promise<void> {
  const rng = new Random(seed);
  const gamma = randn(rng, [D], 1, 1);
  const beta = randn(rng, [D]);
  const [gGamma, gBeta] = [upload(engine, gamma), upload(engine, beta)];
  const refParam: ref.BnParam = { mode: 'train', momentum: 0.8, eps: 1e-5 };
  const bnParam: BnParam = { mode: 'train', momentum: 0.8, eps: 1e-5 };
  const shape = `${N}×${D}`;
  for (let step = 0; step < steps; step++) {
    // Columns with an offset and a spread that differ, so the statistics do not cancel trivially.
    const x = randn(rng, [N, D], 3, 2 + step);
    const dout = randn(rng, [N, D]);
    const r = ref.batchnormForward(x, gamma, beta, refParam);
    const gx = upload(engine, x);
    const { out, cache } = layers.batchnormForward(gx, gGamma, gBeta, bnParam);
    if (step === 0) {
      expectTrue(bnParam.runningMean?.shape.join() === `${D}` && bnParam.runningVar?.shape.join() === `${D}`, `${shape}: running statistics created with shape [${D}]`);
    }
    await expectTensor(out, r.out, TOL.reduction, `${shape} step ${step}: train out`);
    const running = refRunning(refParam);
    await expectTensor(bnParam.runningMean!, running.mean, TOL.reduction, `${shape} step ${step}: running mean`);
    await expectTensor(bnParam.runningVar!, running.variance, TOL.reduction, `${shape} step ${step}: running var`);
    const rg = ref.batchnormBackward(dout, r.cache!);
    const gdout = upload(engine, dout);
    const g = layers.batchnormBackward(gdout, cache);
    await expectTensor(g.dbeta, rg.dbeta, TOL.reduction, `${shape} step ${step}: dbeta`);
    await expectTensor(g.dgamma, rg.dgamma, TOL.reduction, `${shape} step ${step}: dgamma`);
    await expectTensor(g.dx, rg.dx, TOL.reduction, `${shape} step ${step}: dx`);
    disposeAll(gx, out, gdout, g.dx, g.dgamma, g.dbeta, ...batchnorm.temporaries(cache));
  }
  // Test mode: the running statistics, elementwise.
  const x = randn(rng, [N, D], 3, 2);
  refParam.mode = 'test';
  bnParam.mode = 'test';
  const r = ref.batchnormForward(x, gamma, beta, refParam);
  const gx = upload(engine, x);
  const { out } = layers.batchnormForward(gx, gGamma, gBeta, bnParam);
  await expectTensor(out, r.out, TOL.elementwise, `${shape}: test out`);
  disposeAll(gx, out, gGamma, gBeta, bnParam.runningMean, bnParam.runningVar);
}

export const cases: TestCase[] = [
  {
    name: 'reference batchnorm backward and the affine–batchnorm–ReLU sandwich match centred finite differences (float64)',
    async run() {
      const rng = new Random(21);
      // The course's check: N, D = 4, 5; x = 5·randn + 12.
      const x = randn(rng, [4, 5], 5, 12);
      const gamma = randn(rng, [5]);
      const beta = randn(rng, [5]);
      const dout = randn(rng, [4, 5]);
      const train = (): ref.BnParam => ({ mode: 'train' });
      const { cache } = ref.batchnormForward(x, gamma, beta, train());
      const g = ref.batchnormBackward(dout, cache!);
      const fx = (v: NDArray) => ref.batchnormForward(v, gamma, beta, train()).out;
      const fg = (v: NDArray) => ref.batchnormForward(x, v, beta, train()).out;
      const fb = (v: NDArray) => ref.batchnormForward(x, gamma, v, train()).out;
      expectClose(g.dx.data, numericGradientArray(fx, x, dout), TOL.gradcheck, 'ref batchnorm dx');
      expectClose(g.dgamma.data, numericGradientArray(fg, gamma, dout), TOL.gradcheck, 'ref batchnorm dgamma');
      expectClose(g.dbeta.data, numericGradientArray(fb, beta, dout), TOL.gradcheck, 'ref batchnorm dbeta');

      const xs = randn(rng, [4, 2, 3]);
      const w = randn(rng, [6, 5]);
      const b = randn(rng, [5]);
      const s = ref.affineBatchnormReluForward(xs, w, b, gamma, beta, train());
      const sg = ref.affineBatchnormReluBackward(dout, s.cache);
      const f = (args: { x?: NDArray; w?: NDArray; b?: NDArray; gamma?: NDArray; beta?: NDArray }) =>
        ref.affineBatchnormReluForward(args.x ?? xs, args.w ?? w, args.b ?? b, args.gamma ?? gamma, args.beta ?? beta, train()).out;
      expectClose(sg.dx.data, numericGradientArray((v) => f({ x: v }), xs, dout), TOL.gradcheck, 'ref sandwich dx');
      expectClose(sg.dw.data, numericGradientArray((v) => f({ w: v }), w, dout), TOL.gradcheck, 'ref sandwich dw');
      // Batchnorm subtracts the batch mean, which cancels the affine bias: db is zero, up to rounding.
      const dbNumeric = numericGradientArray((v) => f({ b: v }), b, dout);
      const largest = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
      expectTrue(largest(sg.db.data) < 1e-10 && largest(dbNumeric) < 1e-8, `ref sandwich db is not zero: ${sg.db.data} (numeric ${dbNumeric})`);
      expectClose(sg.dgamma.data, numericGradientArray((v) => f({ gamma: v }), gamma, dout), TOL.gradcheck, 'ref sandwich dgamma');
      expectClose(sg.dbeta.data, numericGradientArray((v) => f({ beta: v }), beta, dout), TOL.gradcheck, 'ref sandwich dbeta');
    },
  },
  {
    name: "batchnorm train forward passes the course's sanity checks (means ≈ beta, stds ≈ gamma) and matches float64",
    async run(engine) {
      const rng = new Random(231);
      const a = new CourseActivations(rng).batch(200);
      const [N, D] = [200, 3];
      const gx = upload(engine, a);
      const before = columnStats(a.data, N, D);
      expectTrue(before.means.some((m) => Math.abs(m) > 1) && before.stds.some((s) => s > 5), `the input is not already normalized: ${before.means} ${before.stds}`);
      for (const [gammaValues, betaValues] of [
        [[1, 1, 1], [0, 0, 0]],
        [[1, 2, 3], [11, 12, 13]],
      ]) {
        const gamma = nd(gammaValues!, [D]);
        const beta = nd(betaValues!, [D]);
        const r = ref.batchnormForward(a, gamma, beta, { mode: 'train' });
        const { out } = layers.batchnormForward(gx, upload(engine, gamma), upload(engine, beta), { mode: 'train' });
        const data = await download(out);
        const { means, stds } = columnStats(data, N, D);
        expectAllNear(means, betaValues!, 1e-4 * Math.max(1, ...betaValues!), `means with beta ${betaValues}`);
        expectAllNear(stds, gammaValues!, 1e-4 * Math.max(...gammaValues!), `stds with gamma ${gammaValues}`);
        expectClose(data, r.out.data, TOL.reduction, `out vs reference with gamma ${gammaValues}`);
      }
    },
  },
  {
    name: "batchnorm running averages: after the course's 50 train steps, test mode gives means ≈ 0 and stds ≈ 1 (and matches float64)",
    async run(engine) {
      const D = 3;
      const gamma = nd([1, 1, 1], [D]);
      const beta = nd([0, 0, 0], [D]);
      const [gGamma, gBeta] = [upload(engine, gamma), upload(engine, beta)];
      const bnParam: BnParam = { mode: 'train' };
      const refParam: ref.BnParam = { mode: 'train' };
      const course = new CourseActivations(new Random(51));
      for (let t = 0; t < 50; t++) {
        const a = course.batch(200);
        ref.batchnormForward(a, gamma, beta, refParam);
        const gx = upload(engine, a);
        const { out, cache } = layers.batchnormForward(gx, gGamma, gBeta, bnParam);
        disposeAll(gx, out, ...batchnorm.temporaries(cache));
      }
      const running = refRunning(refParam);
      await expectTensor(bnParam.runningMean!, running.mean, TOL.reduction, 'running mean after 50 steps');
      await expectTensor(bnParam.runningVar!, running.variance, TOL.reduction, 'running var after 50 steps');
      bnParam.mode = 'test';
      refParam.mode = 'test';
      const a = course.batch(200);
      const r = ref.batchnormForward(a, gamma, beta, refParam);
      const { out, cache } = layers.batchnormForward(upload(engine, a), gGamma, gBeta, bnParam);
      const data = await download(out);
      expectClose(data, r.out.data, TOL.elementwise, 'test-mode out vs reference');
      const { means, stds } = columnStats(data, 200, D);
      // The course prints means near 0 and stds near 1, a test batch being one sample of the distribution.
      expectAllNear(means, [0, 0, 0], 0.35, 'test-mode means');
      expectAllNear(stds, [1, 1, 1], 0.35, 'test-mode stds');
      expectTrue(cache.mode === 'test' && batchnorm.temporaries(cache).length === 0, 'a test-mode cache keeps nothing');
      ref.batchnormForward(a, gamma, beta, { mode: 'test' }); // the reference accepts absent running statistics too
    },
  },
  ...[
    { N: 1, D: 7, label: 'N = 1' },
    // (Not N = 2: there xhat = ±1, and dx is only the eps term left by cancellation.)
    { N: 3, D: 1, label: 'N = 3, D = 1' },
    { N: 13, D: 37, label: 'odd sizes' },
    { N: 67, D: 130, label: 'past one column block' },
    { N: 257, D: 33, label: 'N past 256' },
  ].map(({ N, D, label }) => ({
    name: `batchnorm forward (train, running averages, test) and backward match float64 (${label}: ${N}×${D})`,
    async run(engine: Engine) {
      await compareWithReference(engine, N, D, N * 1000 + D);
    },
  }) satisfies TestCase),
  {
    name: 'batchnorm forward and backward match float64 at 4096×300',
    timeout: 300_000,
    async run(engine) {
      await compareWithReference(engine, 4096, 300, 4096, 1);
    },
  },
  {
    name: 'batchnorm train forward of a column with a large mean and a tiny spread (shifted two-pass statistics) matches float64',
    async run(engine) {
      // E[x²] − E[x]² in f32 would lose every digit of this variance: mean 1000, std 0.01.
      const rng = new Random(9);
      const [N, D] = [1000, 5];
      const x = randn(rng, [N, D], 0.01, 1000);
      const gamma = nd([1, 1, 1, 1, 1], [D]);
      const beta = nd([0, 0, 0, 0, 0], [D]);
      const refParam: ref.BnParam = { mode: 'train', momentum: 0 };
      const bnParam: BnParam = { mode: 'train', momentum: 0 };
      const r = ref.batchnormForward(x, gamma, beta, refParam);
      const { out } = layers.batchnormForward(upload(engine, x), upload(engine, gamma), upload(engine, beta), bnParam);
      // f32 rounds these inputs to multiples of 2⁻¹⁴ ≈ 6e-5 (0.6% of the spread): the reference sees the same values.
      await expectTensor(out, r.out, TOL.reduction, 'normalized out');
      await expectTensor(bnParam.runningVar!, refRunning(refParam).variance, TOL.reduction, 'batch variance (momentum 0)');
    },
  },
  {
    name: 'batchnorm column reductions in every layout (CPU 128×1, GPU 4×64, 32×8, 8×32, 64×4, 1×256, 3×5) match float64',
    async run(engine) {
      // The engine picks one layout per device: force the others so every device runs them all.
      const layouts: ColumnLayout[] = [
        { cols: 128, slices: 1 },
        { cols: 32, slices: 8 },
        { cols: 4, slices: 64 },
        { cols: 8, slices: 32 },
        { cols: 64, slices: 4 },
        { cols: 1, slices: 256 },
        { cols: 3, slices: 5 },
      ];
      const rng = new Random(8);
      const [N, D] = [300, 70];
      const x = randn(rng, [N, D], 2, 3);
      const gamma = randn(rng, [D], 1, 1);
      const beta = randn(rng, [D]);
      const dout = randn(rng, [N, D]);
      const refParam: ref.BnParam = { mode: 'train', momentum: 0.5 };
      const r = ref.batchnormForward(x, gamma, beta, refParam);
      const rg = ref.batchnormBackward(dout, r.cache!);
      const running = refRunning(refParam);
      const [gx, gGamma, gBeta, gdout] = [x, gamma, beta, dout].map((a) => upload(engine, a)) as [Tensor, Tensor, Tensor, Tensor];
      for (const layout of layouts) {
        const what = `layout ${layout.cols}×${layout.slices}`;
        const [runningMean, runningVar] = [engine.zeros([D]), engine.zeros([D])];
        const f = batchnormTrain(engine, gx, gGamma, gBeta, runningMean, runningVar, { eps: 1e-5, momentum: 0.5, relu: false, layout });
        await expectTensor(f.out, r.out, TOL.reduction, `${what}: out`);
        await expectTensor(runningMean, running.mean, TOL.reduction, `${what}: running mean`);
        await expectTensor(runningVar, running.variance, TOL.reduction, `${what}: running var`);
        const g = batchnormGrads(engine, gdout, f.xhat, gGamma, f.invStd, layout);
        await expectTensor(g.dgamma, rg.dgamma, TOL.reduction, `${what}: dgamma`);
        await expectTensor(g.dbeta, rg.dbeta, TOL.reduction, `${what}: dbeta`);
        await expectTensor(g.dx, rg.dx, TOL.reduction, `${what}: dx`);
        disposeAll(runningMean, runningVar, f.out, f.xhat, f.invStd, g.dx, g.dgamma, g.dbeta);
      }
    },
  },
  {
    name: 'batchnorm with the fused ReLU keeps NaN as float64 does (train and test forward)',
    async run(engine) {
      // A NaN γ: its column is NaN after the ReLU, as in float64, not 0 (max(NaN, 0) on the GPU).
      const rng = new Random(23);
      const [N, D] = [6, 5];
      const x = randn(rng, [N, D], 2, 3);
      const gamma = randn(rng, [D], 1, 1);
      const beta = randn(rng, [D]);
      gamma.data[1] = Number.NaN;
      const relu = (a: NDArray) => ref.reluForward(a).out.data;
      const refParam: ref.BnParam = { mode: 'train', momentum: 0.5 };
      const train = relu(ref.batchnormForward(x, gamma, beta, refParam).out);
      const test = relu(ref.batchnormForward(x, gamma, beta, { ...refParam, mode: 'test' }).out);
      const [gx, gGamma, gBeta] = [x, gamma, beta].map((a) => upload(engine, a)) as [Tensor, Tensor, Tensor];
      const [runningMean, runningVar] = [engine.zeros([D]), engine.zeros([D])];
      const f = batchnormTrain(engine, gx, gGamma, gBeta, runningMean, runningVar, { eps: 1e-5, momentum: 0.5, relu: true });
      expectCloseOrNaN(await download(f.out), train, TOL.reduction, 'train forward, ReLU, NaN γ');
      const t = batchnormTest(engine, gx, gGamma, gBeta, runningMean, runningVar, { eps: 1e-5, relu: true });
      expectCloseOrNaN(await download(t), test, TOL.reduction, 'test forward, ReLU, NaN γ');
      disposeAll(gx, gGamma, gBeta, runningMean, runningVar, f.out, f.xhat, f.invStd, t);
    },
  },
  {
    name: 'affine–batchnorm–ReLU sandwich (train, backward, test) matches the float64 reference sandwich',
    async run(engine) {
      const rng = new Random(77);
      const [N, M] = [29, 37];
      const x = randn(rng, [N, 4, 5]);
      const w = randn(rng, [20, M], 0.5);
      const b = randn(rng, [M]);
      const gamma = randn(rng, [M], 0.5, 1);
      const beta = randn(rng, [M]);
      const dout = randn(rng, [N, M]);
      const refParam: ref.BnParam = { mode: 'train' };
      const bnParam: BnParam = { mode: 'train' };
      const r = ref.affineBatchnormReluForward(x, w, b, gamma, beta, refParam);
      const rg = ref.affineBatchnormReluBackward(dout, r.cache);
      const [gx, gw, gb, gGamma, gBeta] = [x, w, b, gamma, beta].map((a) => upload(engine, a)) as [Tensor, Tensor, Tensor, Tensor, Tensor];
      const s = layers.affineBatchnormReluForward(gx, gw, gb, gGamma, gBeta, bnParam);
      await expectTensor(s.out, r.out, TOL.reduction, 'sandwich out');
      const running = refRunning(refParam);
      await expectTensor(bnParam.runningMean!, running.mean, TOL.reduction, 'sandwich running mean');
      await expectTensor(bnParam.runningVar!, running.variance, TOL.reduction, 'sandwich running var');
      const g = layers.affineBatchnormReluBackward(upload(engine, dout), s.cache);
      await expectTensor(g.dx, rg.dx, TOL.reduction, 'sandwich dx');
      await expectTensor(g.dw, rg.dw, TOL.reduction, 'sandwich dw');
      // The batch mean cancels the affine bias: db is zero up to f32 rounding of sums of dout.
      const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((sum, v) => sum + v * v, 0));
      const db = await download(g.db);
      expectTrue(norm(db) <= TOL.reduction * norm(rg.dbeta.data), `sandwich db ${db} is not zero`);
      await expectTensor(g.dgamma, rg.dgamma, TOL.reduction, 'sandwich dgamma');
      await expectTensor(g.dbeta, rg.dbeta, TOL.reduction, 'sandwich dbeta');
      // Test mode uses the running statistics; its cache has no gradient.
      refParam.mode = 'test';
      bnParam.mode = 'test';
      const rt = ref.affineBatchnormReluForward(x, w, b, gamma, beta, refParam);
      const t = layers.affineBatchnormReluForward(gx, gw, gb, gGamma, gBeta, bnParam);
      await expectTensor(t.out, rt.out, TOL.reduction, 'sandwich test-mode out');
      const before = engine.stats().dispatches;
      await expectThrows(() => layers.affineBatchnormReluBackward(upload(engine, dout), t.cache), /affineBatchnormReluBackward: .*test-mode/, 'backward of a test-mode sandwich');
      expectTrue(engine.stats().dispatches === before, 'the refused backward recorded no dispatch');
    },
  },
  {
    name: 'batchnorm train step captured once and replayed: no readback, running averages update in place on each replay',
    async run(engine) {
      const rng = new Random(5);
      const [N, D] = [45, 70];
      const x = randn(rng, [N, D], 2, -1);
      const gamma = randn(rng, [D], 0.3, 1);
      const beta = randn(rng, [D]);
      const dout = randn(rng, [N, D]);
      const [gx, gGamma, gBeta, gdout] = [x, gamma, beta, dout].map((a) => upload(engine, a)) as [Tensor, Tensor, Tensor, Tensor];
      const bnParam: BnParam = { mode: 'train', runningMean: upload(engine, randn(rng, [D])), runningVar: engine.tensor(new Float32Array(D).fill(2), [D]) };
      const refParam: ref.BnParam = { mode: 'train', runningMean: nd(await download(bnParam.runningMean!), [D]), runningVar: nd(new Float64Array(D).fill(2), [D]) };
      const step = engine.capture(() => {
        const { out, cache } = layers.batchnormForward(gx, gGamma, gBeta, bnParam);
        const grads = layers.batchnormBackward(gdout, cache);
        for (const t of batchnorm.temporaries(cache)) t.dispose();
        return { out, ...grads };
      }, 'batchnorm step');
      step.replay();
      const result = step.replay();
      let r = ref.batchnormForward(x, gamma, beta, refParam);
      for (let i = 0; i < 2; i++) r = ref.batchnormForward(x, gamma, beta, refParam);
      const rg = ref.batchnormBackward(dout, r.cache!);
      const running = refRunning(refParam);
      await expectTensor(bnParam.runningMean!, running.mean, TOL.reduction, 'running mean after capture + 2 replays');
      await expectTensor(bnParam.runningVar!, running.variance, TOL.reduction, 'running var after capture + 2 replays');
      await expectTensor(result.out, r.out, TOL.reduction, 'replayed out');
      await expectTensor(result.dx, rg.dx, TOL.reduction, 'replayed dx');
      await expectTensor(result.dgamma, rg.dgamma, TOL.reduction, 'replayed dgamma');
      step.dispose();
    },
  },
  {
    name: 'batchnorm bad input throws an Error naming the op, shapes and values, before any GPU work',
    async run(engine) {
      const before = engine.stats().dispatches;
      const f = (shape: number[]) => engine.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
      const [x, g5, b5, g4] = [f([10, 5]), f([5]), f([5]), f([4])];
      const fwd = (xx: Tensor, gamma: Tensor, beta: Tensor, bnParam: BnParam) => () => layers.batchnormForward(xx, gamma, beta, bnParam);
      await expectThrows(fwd(f([2, 3, 4]), g5, b5, { mode: 'train' }), /^shadergrad: batchnormForward: x \[2, 3, 4\] must be 2-D/, 'x not 2-D');
      await expectThrows(fwd(x, g4, b5, { mode: 'train' }), /^shadergrad: batchnormForward: gamma \[4\] must be \(D\) = \[5\] for x \[10, 5\]/, 'gamma size');
      await expectThrows(fwd(x, g5, f([5, 1]), { mode: 'train' }), /^shadergrad: batchnormForward: beta \[5, 1\] must be \(D\) = \[5\]/, 'beta rank');
      const i5 = engine.tensor(new Int32Array(5), [5]);
      await expectThrows(fwd(x, i5, b5, { mode: 'train' }), /^shadergrad: batchnormForward: gamma must be f32, got i32/, 'gamma dtype');
      await expectThrows(fwd(engine.tensor(new Int32Array(50), [10, 5]), g5, b5, { mode: 'test' }), /^shadergrad: batchnormForward: x must be f32, got i32/, 'x dtype');
      await expectThrows(fwd(x, g5, b5, { mode: 'train', runningMean: g4 }), /^shadergrad: batchnormForward: bnParam\.runningMean \[4\] must be \(D\) = \[5\] for x \[10, 5\]/, 'running mean size');
      await expectThrows(fwd(x, g5, b5, { mode: 'test', runningMean: g5, runningVar: f([6]) }), /^shadergrad: batchnormForward: bnParam\.runningVar \[6\] must be \(D\) = \[5\]/, 'running var size');
      await expectThrows(fwd(x, g5, b5, { mode: 'train', runningMean: g5, runningVar: g5 }), /runningMean and bnParam\.runningVar must be different tensors/, 'aliased running statistics');
      await expectThrows(fwd(x, g5, b5, { mode: 'eval' as 'test' }), /^shadergrad: batchnormForward: bnParam\.mode must be 'train' or 'test', got "eval"/, 'invalid mode');
      await expectThrows(fwd(x, g5, b5, {} as BnParam), /bnParam\.mode must be 'train' or 'test', got undefined/, 'missing mode');
      await expectThrows(fwd(x, g5, b5, { mode: 'train', momentum: 1.5 }), /^shadergrad: batchnormForward: bnParam\.momentum must be a number in \[0, 1\], got 1\.5/, 'momentum');
      await expectThrows(fwd(x, g5, b5, { mode: 'train', eps: -1 }), /^shadergrad: batchnormForward: bnParam\.eps must be a normal f32 number > 0 \(1\.2e-38 to 3\.4e38\), got -1/, 'eps');
      await expectThrows(fwd(f([0, 5]), g5, b5, { mode: 'train' }), /^shadergrad: batchnormForward: x \[0, 5\] has no rows/, 'empty batch');
      const disposed = f([5]);
      disposed.dispose();
      await expectThrows(fwd(x, g5, disposed, { mode: 'train' }), /^shadergrad: batchnormForward: a tensor of shape \[5\] was used after dispose/, 'disposed beta');
      // The sandwich checks the batchnorm arguments before its affine kernels run.
      const [xs, w] = [f([10, 2, 3]), f([6, 5])];
      await expectThrows(() => layers.affineBatchnormReluForward(xs, w, f([5]), g4, b5, { mode: 'train' }), /^shadergrad: affineBatchnormReluForward: gamma \[4\] must be \(D\) = \[5\] for x·w \[10, 5\]/, 'sandwich gamma');
      await expectThrows(() => layers.affineBatchnormReluForward(xs, f([7, 5]), f([5]), g5, b5, { mode: 'train' }), /^shadergrad: affineForward: .*\[10, 2, 3\].*\[7, 5\]/, 'sandwich w');
      const untouched: BnParam = { mode: 'train', runningMean: g4 };
      await expectThrows(fwd(x, g5, b5, untouched), /runningMean/, 'bad running mean');
      expectTrue(untouched.runningVar === undefined, 'a refused call does not create running statistics');
      expectTrue(engine.stats().dispatches === before, 'no dispatch was recorded by the rejected calls');
      // Backward: a test-mode cache, a dout of the wrong shape.
      const test = layers.batchnormForward(x, g5, b5, { mode: 'test' });
      const train = layers.batchnormForward(x, g5, b5, { mode: 'train' });
      const afterForward = engine.stats().dispatches;
      await expectThrows(() => layers.batchnormBackward(x, test.cache), /^shadergrad: batchnormBackward: the cache is from a test-mode forward pass/, 'backward of test mode');
      await expectThrows(() => layers.batchnormBackward(f([5, 10]), train.cache), /^shadergrad: batchnormBackward: dout f32 \[5, 10\] should be f32 \[10, 5\]/, 'dout shape');
      expectTrue(engine.stats().dispatches === afterForward, 'no dispatch was recorded by the rejected backward calls');
    },
  },
];
