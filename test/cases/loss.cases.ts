// Loss cases: the course's sanity values, softmax and SVM against float64, stability, bad labels.

import { layers } from '../../src/index';
import type { LossStrategy } from '../../src/kernels/loss';
import { Random } from '../../src/random';
import * as ref from '../../src/reference/layers';
import { numericGradient } from '../../src/reference/gradcheck';
import { type NDArray, nd } from '../../src/reference/ndarray';
import { TOL, type TestCase, download, expectClose, expectCloseOrNaN, expectThrows, expectTrue, randn, randomLabels, upload } from '../harness/check';

/** SPEC: f32 against float64, relative, for the mean loss and for dx. */
const LOSS_TOL = 1e-5;

const kinds = [
  { kind: 'softmax', gpu: layers.softmaxLoss, reference: ref.softmaxLoss },
  { kind: 'svm', gpu: layers.svmLoss, reference: ref.svmLoss },
] as const;

const strategies: LossStrategy[] = ['row', 'workgroup'];

/** GPU loss and dx against the reference; NaN must appear exactly where the reference has NaN. */
async function expectLoss(
  result: { loss: { item(): Promise<number> }; dx: Parameters<typeof download>[0] },
  expected: { loss: number; dx: NDArray },
  what: string,
): Promise<void> {
  const loss = await result.loss.item();
  const dx = await download(result.dx);
  expectTrue(result.dx.shape.join() === expected.dx.shape.join(), `${what}: dx shape [${result.dx.shape}]`);
  if (Number.isNaN(expected.loss)) expectTrue(Number.isNaN(loss), `${what}: loss ${loss}, expected NaN`);
  else expectClose([loss], [expected.loss], LOSS_TOL, `${what}: loss`);
  expectCloseOrNaN(dx, expected.dx.data, LOSS_TOL, `${what}: dx`);
}

/** SVM scores whose margins stay at least `gap` from the hinge, where finite differences fail. */
function awayFromHinge(rng: Random, N: number, C: number, y: Int32Array, gap: number): NDArray {
  for (;;) {
    const x = randn(rng, [N, C]);
    let ok = true;
    for (let n = 0; n < N && ok; n++) {
      for (let c = 0; c < C; c++) {
        if (c !== y[n] && Math.abs(x.data[n * C + c]! - x.data[n * C + y[n]!]! + 1) < gap) ok = false;
      }
    }
    if (ok) return x;
  }
}

export const cases: TestCase[] = [
  {
    name: "loss: the course's sanity values — SVM ≈ 9, softmax ≈ ln 10 for x = 0.001·randn(50, 10)",
    async run(engine) {
      const rng = new Random(1);
      const x = upload(engine, randn(rng, [50, 10], 0.001));
      const y = engine.tensor(randomLabels(rng, 50, 10));
      const svm = await layers.svmLoss(x, y).loss.item();
      const softmax = await layers.softmaxLoss(x, y).loss.item();
      expectTrue(Math.abs(svm - 9) < 0.01, `svm loss ${svm}, expected ≈ 9`);
      expectTrue(Math.abs(softmax - Math.log(10)) < 0.01, `softmax loss ${softmax}, expected ≈ ${Math.log(10)}`);
    },
  },
  {
    name: 'loss: reference softmax and SVM gradients match centred finite differences (float64)',
    async run() {
      const rng = new Random(2);
      const [N, C] = [9, 7];
      const y = randomLabels(rng, N, C);
      const xs = randn(rng, [N, C]);
      const numericSoftmax = numericGradient((v) => ref.softmaxLoss(v, y).loss, xs);
      expectClose(ref.softmaxLoss(xs, y).dx.data, numericSoftmax, TOL.gradcheck, 'reference softmax dx');
      const xv = awayFromHinge(rng, N, C, y, 1e-3);
      const numericSvm = numericGradient((v) => ref.svmLoss(v, y).loss, xv);
      expectClose(ref.svmLoss(xv, y).dx.data, numericSvm, TOL.gradcheck, 'reference svm dx');
    },
  },
  ...kinds.flatMap(({ kind, gpu, reference }) =>
    strategies.map((strategy) => ({
      name: `loss: ${kind} loss and dx match float64, one ${strategy === 'row' ? 'invocation' : 'workgroup'} per row (N = 1, C = 1, odd shapes, C = 1000)`,
      timeout: 300_000,
      async run(engine) {
        const rng = new Random(kind.length * 10 + strategy.length);
        for (const [N, C] of [[1, 1], [1, 10], [7, 1], [13, 37], [50, 10], [3, 1000], [65, 129], [129, 1000]] as const) {
          const x = randn(rng, [N, C], 2);
          const y = randomLabels(rng, N, C);
          const expected = reference(x, y);
          if (C === 1) expectTrue(expected.loss === 0 && expected.dx.data.every((v) => v === 0), `C = 1: reference loss ${expected.loss}`);
          await expectLoss(gpu(upload(engine, x), engine.tensor(y), { strategy }), expected, `${kind} ${strategy} [${N}, ${C}]`);
        }
      },
    }) satisfies TestCase),
  ),
  ...kinds.map(({ kind, gpu, reference }) => ({
    name: `loss: ${kind} at large N and large C ([10000, 10], [2000, 1000] by default; 70000 rows of 33, a workgroup each: a 2-D grid) matches float64`,
    timeout: 600_000,
    async run(engine) {
      const rng = new Random(kind.length);
      const shapes: Array<[number, number, LossStrategy | undefined]> = [[10000, 10, undefined], [2000, 1000, undefined], [70000, 33, 'workgroup']];
      for (const [N, C, strategy] of shapes) {
        const x = randn(rng, [N, C], 3);
        const y = randomLabels(rng, N, C);
        await expectLoss(gpu(upload(engine, x), engine.tensor(y), { strategy }), reference(x, y), `${kind} [${N}, ${C}] ${strategy ?? 'default'}`);
      }
    },
  }) satisfies TestCase),
  {
    name: 'loss: scores of magnitude 1e3 give finite losses and gradients that match float64',
    async run(engine) {
      const rng = new Random(4);
      const [N, C] = [37, 300];
      const x = randn(rng, [N, C], 1000);
      // Rows of equal huge scores, and one with a single huge winner.
      for (let c = 0; c < C; c++) {
        x.data[c] = 1000;
        x.data[C + c] = -1000;
        x.data[2 * C + c] = c === 5 ? 3000 : 0;
      }
      const y = randomLabels(rng, N, C);
      for (const { kind, gpu, reference } of kinds) {
        for (const strategy of strategies) {
          const what = `${kind} ${strategy} at 1e3`;
          const result = gpu(upload(engine, x), engine.tensor(y), { strategy });
          const loss = await result.loss.item();
          expectTrue(Number.isFinite(loss), `${what}: loss ${loss}`);
          expectTrue((await download(result.dx)).every(Number.isFinite), `${what}: dx has NaN or Inf`);
          await expectLoss(result, reference(x, y), what);
        }
      }
    },
  },
  {
    name: 'loss: −∞ scores (masked classes, first in a row or all but the label) add nothing to the loss and get zero gradient, as in float64',
    async run(engine) {
      const rng = new Random(8);
      for (const [N, C] of [[6, 7], [4, 300]] as const) {
        const x = randn(rng, [N, C]);
        const y = randomLabels(rng, N, C);
        for (let n = 0; n < N; n++) {
          // Row 0: the first three classes masked; row 1: every class but the label; others: every other class.
          for (let c = 0; c < C; c++) {
            const masked = n === 0 ? c < 3 : n === 1 ? true : c % 2 === 0;
            if (masked && c !== y[n]) x.data[n * C + c] = -Infinity;
          }
        }
        for (const { kind, gpu, reference } of kinds) {
          for (const strategy of strategies) {
            const what = `${kind} ${strategy} [${N}, ${C}] with −∞ scores`;
            const expected = reference(x, y);
            expectTrue(Number.isFinite(expected.loss), `${what}: the float64 reference loss is ${expected.loss}`);
            await expectLoss(gpu(upload(engine, x), engine.tensor(y), { strategy }), expected, what);
          }
        }
      }
    },
  },
  {
    name: "loss: SVM margins of exactly 0 (x_j = x_y − 1) add nothing and get no gradient, as the course's margins > 0 (both strategies)",
    async run(engine) {
      // Random scores never land on the hinge; small integers do, in f32 and float64 alike.
      const rng = new Random(10);
      for (const [N, C] of [[9, 5], [6, 70]] as const) {
        const x = nd(Float64Array.from({ length: N * C }, () => rng.int(4) - 2), [N, C]);
        const y = randomLabels(rng, N, C);
        for (let n = 0; n < N; n++) x.data[n * C + ((y[n]! + 1) % C)] = x.data[n * C + y[n]!]! - 1; // one margin per row on the hinge at least
        const expected = ref.svmLoss(x, y);
        // The reference itself, against the definition: a zero margin has dx 0, the label −(positive margins)/N.
        let hinge = 0;
        for (let n = 0; n < N; n++) {
          let positive = 0;
          for (let c = 0; c < C; c++) {
            if (c === y[n]) continue;
            const margin = x.data[n * C + c]! - x.data[n * C + y[n]!]! + 1;
            if (margin === 0) hinge++;
            if (margin > 0) positive++;
            expectTrue(expected.dx.data[n * C + c] === (margin > 0 ? 1 / N : 0), `reference dx[${n}, ${c}] at margin ${margin}`);
          }
          expectTrue(expected.dx.data[n * C + y[n]!] === -positive / N, `reference dx[${n}, y] with ${positive} positive margins`);
        }
        expectTrue(hinge >= N, `only ${hinge} margins on the hinge`);
        for (const strategy of strategies) {
          await expectLoss(layers.svmLoss(upload(engine, x), engine.tensor(y), { strategy }), expected, `svm ${strategy} [${N}, ${C}] on the hinge`);
        }
      }
    },
  },
  {
    name: 'loss: a label scored −∞ gives a loss of +∞ (not NaN) and the float64 gradient, other rows intact (both kinds, both strategies)',
    async run(engine) {
      const rng = new Random(12);
      for (const [N, C] of [[5, 7], [3, 100]] as const) {
        const x = randn(rng, [N, C]);
        const y = randomLabels(rng, N, C);
        x.data[2 * C + y[2]!] = -Infinity;
        for (const { kind, gpu, reference } of kinds) {
          const expected = reference(x, y);
          for (const strategy of strategies) {
            const what = `${kind} ${strategy} [${N}, ${C}], label scored −∞`;
            expectTrue(expected.loss === Infinity, `${what}: the float64 reference loss is ${expected.loss}`);
            const result = gpu(upload(engine, x), engine.tensor(y), { strategy });
            const loss = await result.loss.item();
            expectTrue(loss === Infinity, `${what}: loss ${loss}, expected Infinity`);
            expectClose(await download(result.dx), expected.dx.data, LOSS_TOL, `${what}: dx`);
          }
        }
      }
    },
  },
  {
    name: 'loss: a label of −1 or C gives a NaN loss and a NaN dx row, other rows intact, no crash',
    async run(engine) {
      const rng = new Random(6);
      for (const [N, C] of [[5, 4], [6, 100]] as const) {
        const x = randn(rng, [N, C]);
        for (const bad of [-1, C]) {
          const y = randomLabels(rng, N, C);
          y[N - 1] = bad; // the last row: a bad label must not read past the end of x
          y[1] = bad;
          for (const { kind, gpu, reference } of kinds) {
            for (const strategy of strategies) {
              const what = `${kind} ${strategy} [${N}, ${C}] label ${bad}`;
              const result = gpu(upload(engine, x), engine.tensor(y), { strategy });
              expectTrue(Number.isNaN(await result.loss.item()), `${what}: loss is not NaN`);
              await expectLoss(result, reference(x, y), what);
            }
          }
        }
      }
      await engine.sync();
    },
  },
  {
    name: 'loss: wrong dtypes and shapes of x and y throw naming the shapes, before any GPU work',
    async run(engine) {
      const x = engine.tensor(new Float32Array(12), [4, 3]);
      const y = engine.tensor(new Int32Array(4));
      const before = engine.stats().dispatches;
      for (const { kind, gpu } of kinds) {
        const op = kind === 'softmax' ? 'softmaxLoss' : 'svmLoss';
        const msg = (rest: string) => new RegExp(`^shadergrad: ${op}: ${rest}`);
        await expectThrows(() => gpu(x, engine.tensor(new Float32Array(4))), msg('y must be an i32 vector.*\\[4, 3\\].*f32 \\[4\\]'), `${kind}: f32 y`);
        await expectThrows(() => gpu(x, engine.tensor(new Int32Array(5))), msg('y .*N = 4.*\\[4, 3\\].*i32 \\[5\\]'), `${kind}: y too long`);
        await expectThrows(() => gpu(x, engine.tensor(new Int32Array(4), [4, 1])), msg('y .*i32 \\[4, 1\\]'), `${kind}: y rank 2`);
        await expectThrows(() => gpu(engine.tensor(new Int32Array(12), [4, 3]), y), msg('x must be an f32 \\(N, C\\).*i32 \\[4, 3\\]'), `${kind}: i32 x`);
        await expectThrows(() => gpu(engine.tensor(new Float32Array(12), [12]), y), msg('x .*f32 \\[12\\]'), `${kind}: x rank 1`);
        await expectThrows(() => gpu(engine.tensor(new Float32Array(12), [2, 2, 3]), y), msg('x .*\\[2, 2, 3\\]'), `${kind}: x rank 3`);
        await expectThrows(() => gpu(engine.tensor(new Float32Array(0), [4, 0]), y), msg('x .*\\[4, 0\\]'), `${kind}: C = 0`);
      }
      expectTrue(engine.stats().dispatches === before, 'a rejected call dispatched');
    },
  },
];
