// Model cases: TwoLayerNet's published values, both nets' gradients against float64, capture/replay.

import type { Engine } from '../../src/engine/engine';
import { dropoutKeepMask } from '../../src/reference/dropout';
import { FullyConnectedNet } from '../../src/models/fully-connected-net';
import type { Network } from '../../src/models/network';
import { TwoLayerNet } from '../../src/models/two-layer-net';
import { Random } from '../../src/random';
import { numericGradient, relativeError } from '../../src/reference/gradcheck';
import { type NDArray, linspace, nd } from '../../src/reference/ndarray';
import { networkLoss, type ReferenceNetwork } from '../../src/reference/network';
import { Tape } from '../../src/graph/tape';
import { axpyInPlace } from '../../src/kernels/elementwise';
import { affine } from '../../src/ops/affine';
import { defineOp } from '../../src/ops/op';
import { Tensor } from '../../src/tensor';
import { TOL, type TestCase, download, expectClose, expectThrows, expectTrue, randn, randomLabels, upload } from '../harness/check';

async function paramsOf(model: Network): Promise<Record<string, NDArray>> {
  const out: Record<string, NDArray> = {};
  for (const [k, t] of Object.entries(model.params)) out[k] = nd(await download(t), t.shape);
  return out;
}

async function referenceOf(model: Network): Promise<ReferenceNetwork> {
  const p = model.dropoutP;
  return {
    numLayers: model.numLayers,
    batchnorm: model.useBatchnorm,
    dropout: p,
    reg: model.reg,
    params: await paramsOf(model),
    bnParams: model.bnParams.map(() => ({ mode: 'train' as const })),
    dropoutKeep: (layer, size) => dropoutKeepMask(model.seed!, layer, size, p),
  };
}

function disposeResult(r: { loss: { dispose(): void }; grads: Record<string, { dispose(): void }> }): void {
  r.loss.dispose();
  for (const g of Object.values(r.grads)) g.dispose();
}

interface NetCase {
  label: string;
  make(engine: Engine): Network;
  N: number;
  D: number;
}

const netCases: NetCase[] = [
  { label: 'TwoLayerNet reg 0', N: 7, D: 13, make: (e) => new TwoLayerNet(e, { inputDim: 13, hiddenDim: 11, numClasses: 5, weightScale: 0.3, seed: 1 }) },
  { label: 'TwoLayerNet reg 3.14', N: 7, D: 13, make: (e) => new TwoLayerNet(e, { inputDim: 13, hiddenDim: 11, numClasses: 5, weightScale: 0.3, reg: 3.14, seed: 2 }) },
  ...[1, 2, 3, 4].flatMap((layers) =>
    [false, true].flatMap((batchnorm) =>
      [0, 3.14].map(
        (reg): NetCase => ({
          label: `FullyConnectedNet ${layers} hidden${batchnorm ? ' + batchnorm' : ''}, reg ${reg}`,
          N: 9,
          D: 15,
          make: (e) =>
            new FullyConnectedNet(e, {
              hiddenDims: [20, 17, 30, 9].slice(0, layers),
              inputDim: 15,
              numClasses: 7,
              batchnorm,
              reg,
              weightScale: 0.2,
              seed: layers * 10 + +batchnorm,
            }),
        }),
      ),
    ),
  ),
  {
    label: 'FullyConnectedNet 2 hidden + dropout 0.3 (seeded), reg 0.5, N = 1',
    N: 1,
    D: 15,
    make: (e) => new FullyConnectedNet(e, { hiddenDims: [12, 8], inputDim: 15, numClasses: 4, batchnorm: false, dropout: 0.3, reg: 0.5, weightScale: 0.3, seed: 77 }),
  },
  {
    label: 'FullyConnectedNet 3 hidden + batchnorm + dropout 0.25 (seeded)',
    N: 16,
    D: 10,
    make: (e) => new FullyConnectedNet(e, { hiddenDims: [33, 14, 25], inputDim: 10, numClasses: 6, batchnorm: true, dropout: 0.25, weightScale: 0.3, seed: 5 }),
  },
];

export const cases: TestCase[] = [
  {
    name: "TwoLayerNet model reproduces the course's scores and losses (3.4702243556; 26.5948426952 with reg = 1)",
    async run(engine) {
      const [N, D, H, C] = [3, 5, 50, 7];
      const model = new TwoLayerNet(engine, { inputDim: D, hiddenDim: H, numClasses: C, weightScale: 1e-2 });
      const replace = (name: string, data: Float64Array, shape: number[]) => {
        model.params[name]!.dispose();
        model.params[name] = engine.tensor(data, shape);
      };
      replace('W1', linspace(-0.7, 0.3, D * H), [D, H]);
      replace('b1', linspace(-0.1, 0.9, H), [H]);
      replace('W2', linspace(-0.3, 0.4, H * C), [H, C]);
      replace('b2', linspace(-0.9, 0.1, C), [C]);
      // X = np.linspace(-5.5, 4.5, num=N*D).reshape(D, N).T
      const lin = linspace(-5.5, 4.5, N * D);
      const X = engine.tensor(Float32Array.from({ length: N * D }, (_, i) => lin[(i % D) * N + Math.floor(i / D)]!), [N, D]);
      const correctScores = [
        11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765, 16.09215096, 12.05769098, 12.74614105, 13.43459113,
        14.1230412, 14.81149128, 15.49994135, 16.18839143, 12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506,
        16.28463189,
      ];
      const scores = model.loss(X);
      expectClose(await scores.read(), correctScores, 1e-6, 'test-time scores');
      const y = engine.tensor(new Int32Array([0, 5, 1]));
      const r = model.loss(X, y);
      expectClose([await r.loss.item()], [3.4702243556], 1e-6, 'training loss');
      model.reg = 1.0;
      const r2 = model.loss(X, y);
      expectClose([await r2.loss.item()], [26.5948426952], 1e-6, 'regularized loss');
      model.dispose();
    },
  },
  {
    name: 'the float64 reference network matches centred finite differences (batchnorm, dropout, reg)',
    async run() {
      const rng = new Random(3);
      const [N, D, H1, H2, C] = [5, 6, 7, 5, 4];
      const params: Record<string, NDArray> = {
        W1: randn(rng, [D, H1], 0.5),
        b1: randn(rng, [H1], 0.1),
        gamma1: randn(rng, [H1], 0.3, 1),
        beta1: randn(rng, [H1], 0.1),
        W2: randn(rng, [H1, H2], 0.5),
        b2: randn(rng, [H2], 0.1),
        gamma2: randn(rng, [H2], 0.3, 1),
        beta2: randn(rng, [H2], 0.1),
        W3: randn(rng, [H2, C], 0.5),
        b3: randn(rng, [C], 0.1),
      };
      const keep = (layer: number, size: number) => dropoutKeepMask(9, layer, size, 0.3);
      const net: ReferenceNetwork = { numLayers: 3, batchnorm: true, dropout: 0.3, reg: 0.7, params, dropoutKeep: keep };
      const X = randn(rng, [N, D]);
      const y = randomLabels(rng, N, C);
      const { grads } = networkLoss(net, X, y);
      for (const name of Object.keys(params)) {
        const numeric = numericGradient(() => networkLoss(net, X, y).loss, params[name]!);
        const err = relativeError(grads[name]!.data, numeric);
        expectTrue(err < 1e-6, `reference network d${name}: relative error ${err}`);
      }
    },
  },
  ...netCases.map(
    ({ label, make, N, D }): TestCase => ({
      name: `${label}: model loss and every gradient match the float64 reference`,
      async run(engine) {
        const rng = new Random(N * 31 + D);
        const model = make(engine);
        const reference = await referenceOf(model);
        const X = randn(rng, [N, D]);
        const y = randomLabels(rng, N, model.numClasses);
        const expected = networkLoss(reference, X, y);
        const r = model.loss(upload(engine, X), engine.tensor(y));
        expectClose([await r.loss.item()], [expected.loss], TOL.reduction, `${label}: loss`);
        expectTrue(Object.keys(r.grads).sort().join() === Object.keys(expected.grads).sort().join(), `${label}: gradient names ${Object.keys(r.grads)}`);
        for (const [name, g] of Object.entries(r.grads)) {
          const got = await download(g);
          // Batchnorm cancels a hidden layer's bias: db is exactly 0, so only an absolute bound means anything.
          const cancelled = model.useBatchnorm && /^b\d+$/.test(name) && name !== `b${model.numLayers}`;
          if (cancelled) expectTrue(got.every((v) => Math.abs(v) < 1e-5), `${label}: d${name} should vanish, got max |${Math.max(...got.map(Math.abs))}|`);
          else expectClose(got, expected.grads[name]!.data, TOL.reduction, `${label}: d${name}`);
        }
        // Test mode (batchnorm uses the running averages the train step just updated).
        const scores = model.loss(upload(engine, X));
        expectClose(await download(scores), networkLoss(reference, X).data, TOL.reduction, `${label}: test-mode scores`);
        model.dispose();
      },
    }),
  ),
  {
    name: 'a replayed model step gives the same loss and gradients as an eager one; new shapes get their own capture',
    async run(engine) {
      const rng = new Random(8);
      const model = new FullyConnectedNet(engine, { hiddenDims: [24, 17], inputDim: 19, numClasses: 6, batchnorm: true, dropout: 0.2, reg: 0.1, weightScale: 0.2, seed: 3 });
      const X = upload(engine, randn(rng, [10, 19]));
      const y = engine.tensor(randomLabels(rng, 10, 6));
      const capturesBefore = engine.stats().captures;
      disposeResult(model.loss(X, y)); // captured
      const replayed = model.loss(X, y); // replayed
      const eager = model.loss(X, y, { capture: false });
      expectClose([await replayed.loss.item()], [await eager.loss.item()], 1e-6, 'replayed vs eager loss');
      for (const name of Object.keys(eager.grads)) {
        expectClose(await download(replayed.grads[name]!), await download(eager.grads[name]!), 1e-5, `replayed vs eager d${name}`);
      }
      expectTrue(engine.stats().captures === capturesBefore + 1, 'one capture for one shape');
      const X3 = upload(engine, randn(rng, [3, 19]));
      const y3 = engine.tensor(randomLabels(rng, 3, 6));
      disposeResult(model.loss(X3, y3));
      model.loss(X3).dispose();
      expectTrue(engine.stats().captures === capturesBefore + 3, 'a smaller batch and test-mode scoring get their own captures');
      model.dispose();
    },
  },
  {
    name: 'model: 100 replayed steps neither grow stats() nor create pipelines or bind groups after the first',
    timeout: 300_000,
    async run(engine) {
      const rng = new Random(9);
      const model = new FullyConnectedNet(engine, { hiddenDims: [32, 16], inputDim: 20, numClasses: 5, batchnorm: true, dropout: 0.1, reg: 0.01, weightScale: 0.1 });
      const X = upload(engine, randn(rng, [16, 20]));
      const y = engine.tensor(randomLabels(rng, 16, 5));
      disposeResult(model.loss(X, y));
      disposeResult(model.loss(X, y));
      await engine.sync();
      const first = engine.stats();
      let last = 0;
      for (let i = 0; i < 100; i++) {
        const r = model.loss(X, y);
        if (i === 99) last = await r.loss.item();
        disposeResult(r);
      }
      await engine.sync();
      const after = engine.stats();
      for (const key of ['bytesAllocated', 'buffersCreated', 'liveBuffers', 'pipelines', 'bindGroupsCreated', 'captures', 'liveTensors'] as const) {
        expectTrue(after[key] === first[key], `${key}: ${first[key]} → ${after[key]}`);
      }
      expectTrue(after.submits - first.submits === 100 + 1, `one submit per replayed step (+1 read): ${after.submits - first.submits}`);
      expectTrue(Number.isFinite(last), `loss after 100 replays: ${last}`);
      model.dispose();
    },
  },
  {
    name: 'model: assigning model.params.W1 takes effect on the next call; dropout without a seed changes per step',
    async run(engine) {
      const rng = new Random(10);
      const model = new TwoLayerNet(engine, { inputDim: 6, hiddenDim: 8, numClasses: 3, weightScale: 0.5, seed: 4 });
      const X = upload(engine, randn(rng, [4, 6]));
      const before = await download(model.loss(X));
      model.params.W1 = engine.tensor(new Float32Array(48), [6, 8]); // zeros: hidden layer is all zero
      const after = await download(model.loss(X));
      const b2 = await download(model.params.b2!);
      expectTrue(relativeError(after, [...b2, ...b2, ...b2, ...b2]) < 1e-7, 'zero W1 gives scores = b2 on every row');
      expectTrue(relativeError(before, after) > 1e-3, 'scores changed');
      model.dispose();
      const noisy = new FullyConnectedNet(engine, { hiddenDims: [50], inputDim: 6, numClasses: 3, dropout: 0.5, weightScale: 0.5 });
      const y = engine.tensor(new Int32Array([0, 1, 2, 0]));
      const l1 = await noisy.loss(X, y).loss.item();
      const l2 = await noisy.loss(X, y).loss.item();
      const l3 = await noisy.loss(X, y).loss.item();
      expectTrue(!(l1 === l2 && l2 === l3), `unseeded dropout draws new masks on replays: ${l1}, ${l2}, ${l3}`);
      noisy.dispose();
    },
  },
  {
    name: 'model: a dataset kept as 8-bit values on the GPU can be scored and trained on directly',
    async run(engine) {
      const bytes = Uint8Array.from({ length: 5 * 6 }, (_, i) => (i * 37) % 256);
      const X8 = engine.tensorUnorm8(bytes, [5, 6]);
      const Xf = engine.tensor(Float32Array.from(bytes, (b) => b / 255), [5, 6]);
      const model = new TwoLayerNet(engine, { inputDim: 6, hiddenDim: 7, numClasses: 3, weightScale: 0.5, seed: 2 });
      expectClose(await download(model.loss(X8)), await download(model.loss(Xf)), 1e-6, 'scores of the packed and the f32 dataset');
      const y = engine.tensor(new Int32Array([0, 1, 2, 1, 0]));
      expectClose([await model.loss(X8, y).loss.item()], [await model.loss(Xf, y).loss.item()], 1e-6, 'loss of the packed and the f32 dataset');
      model.dispose();
    },
  },
  {
    name: "model: parameters start as the course's — W ~ N(0, weightScale²), biases 0, gamma 1, beta 0 (defaults 1e-3 for TwoLayerNet, 1e-2 for FullyConnectedNet)",
    async run(engine) {
      // A sample std of n normals is within 5 standard errors (σ/√(2n)) of σ; its mean within 5 σ/√n of 0.
      const expectNormal = (data: ArrayLike<number>, std: number, what: string) => {
        const n = data.length;
        let sum = 0;
        let squares = 0;
        for (let i = 0; i < n; i++) {
          sum += data[i]!;
          squares += data[i]! ** 2;
        }
        const mean = sum / n;
        const sampleStd = Math.sqrt(squares / n - mean * mean);
        expectTrue(Math.abs(mean) < (5 * std) / Math.sqrt(n), `${what}: mean ${mean} of ${n} weights, expected 0 (std ${std})`);
        expectTrue(Math.abs(sampleStd - std) < (5 * std) / Math.sqrt(2 * n), `${what}: std ${sampleStd} of ${n} weights, expected ${std}`);
      };
      const fc = new FullyConnectedNet(engine, { hiddenDims: [120, 50], inputDim: 90, numClasses: 10, batchnorm: true, weightScale: 0.03, seed: 4 });
      const shapes = fc.expectedShapes();
      expectTrue(Object.keys(fc.params).sort().join() === Object.keys(shapes).sort().join(), `parameters ${Object.keys(fc.params)}`);
      for (const [name, t] of Object.entries(fc.params)) {
        const data = await download(t);
        expectTrue(t.shape.join() === shapes[name]!.join(), `${name} shape [${t.shape}]`);
        if (name.startsWith('W')) expectNormal(data, 0.03, name);
        else expectTrue(data.every((v) => v === (name.startsWith('gamma') ? 1 : 0)), `${name} starts at ${name.startsWith('gamma') ? 1 : 0}: ${data.slice(0, 5)}…`);
      }
      for (const [i, bn] of fc.bnParams.entries()) {
        expectTrue(bn.eps === 1e-5 && bn.momentum === 0.9, `bnParams[${i}]: eps ${bn.eps}, momentum ${bn.momentum} (the course's 1e-5, 0.9)`);
        for (const t of [bn.runningMean!, bn.runningVar!]) expectTrue((await download(t)).every((v) => v === 0), `bnParams[${i}] running averages start at 0`);
      }
      fc.dispose();
      const two = new TwoLayerNet(engine, { inputDim: 200, hiddenDim: 60, numClasses: 10, seed: 8 });
      expectNormal(await download(two.params.W1!), 1e-3, 'TwoLayerNet default W1');
      expectNormal(await download(two.params.W2!), 1e-3, 'TwoLayerNet default W2');
      two.dispose();
      const deep = new FullyConnectedNet(engine, { hiddenDims: [64], inputDim: 100, seed: 9 });
      expectNormal(await download(deep.params.W1!), 1e-2, 'FullyConnectedNet default W1');
      deep.dispose();
    },
  },
  {
    name: 'model: bad inputs and parameters give clear errors',
    async run(engine) {
      const { expectThrows } = await import('../harness/check');
      const model = new TwoLayerNet(engine, { inputDim: 6, hiddenDim: 4, numClasses: 3 });
      const X = engine.tensor(new Float32Array(12), [2, 6]);
      await expectThrows(() => model.loss(engine.tensor(new Float32Array(10), [2, 5])), /TwoLayerNet.loss: X .* 6 features.*\[2, 5\]/, 'wrong feature count');
      await expectThrows(() => model.loss(X, engine.tensor([0, 1])), /y must be i32 of shape \[2\].*f32/, 'f32 labels');
      await expectThrows(() => model.loss(X, engine.tensor(new Int32Array([0, 1, 2]))), /y must be i32 of shape \[2\].*\[3\]/, 'label count');
      model.params.W2 = engine.tensor(new Float32Array(8), [4, 2]);
      await expectThrows(() => model.loss(X), /params.W2 must be f32 \[4, 3\], got f32 \[4, 2\]/, 'wrong parameter shape');
      await expectThrows(() => new FullyConnectedNet(engine, { hiddenDims: [0] }), /hiddenDims\[0\] must be a positive integer/, 'zero hidden size');
      await expectThrows(() => new FullyConnectedNet(engine, { hiddenDims: [3], dropout: 1 }), /dropout must be a number in \[0, 1\), got 1/, 'dropout 1');
      // Options of the wrong type are refused when the model is made, not at its first loss (or never).
      await expectThrows(() => new TwoLayerNet(engine, { dropout: '0.5' as never }), /TwoLayerNet: dropout must be a number in \[0, 1\), got "0.5"/, 'string dropout');
      await expectThrows(() => new FullyConnectedNet(engine, { hiddenDims: [3], batchnorm: 'no' as never }), /FullyConnectedNet: batchnorm must be true or false, got "no"/, 'string batchnorm');
      for (const seed of [1.5, 'abc', 2 ** 32, -1]) {
        await expectThrows(() => new FullyConnectedNet(engine, { hiddenDims: [3], dropout: 0.5, seed: seed as never }), /FullyConnectedNet: seed must be an integer in \[0, 2\^32\)/, `seed ${seed}`);
      }
      await expectThrows(() => new TwoLayerNet(engine, { weightScale: Infinity }), /TwoLayerNet: weightScale must be a finite f32 number ≥ 0, got Infinity/, 'infinite weightScale');
      await expectThrows(() => new TwoLayerNet(engine, { reg: 1e300 }), /TwoLayerNet: reg must be a finite f32 number ≥ 0, got 1e\+300/, 'reg past f32');
      await expectThrows(() => new TwoLayerNet(engine, null as never), /TwoLayerNet: options must be an object, got null/, 'null options');
      // Options it does not know are refused, not ignored (a course user's snake_case among them); reg is checked.
      await expectThrows(
        () => new TwoLayerNet(engine, { inputDim: 4, hidden_dim: 3, numClasses: 2 } as never),
        /TwoLayerNet: unrecognized option hidden_dim \(shadergrad spells it hiddenDim\)/,
        'snake_case option',
      );
      await expectThrows(() => new FullyConnectedNet(engine, { hiddenDims: [3], useBatchnorm: true } as never), /FullyConnectedNet: unrecognized option useBatchnorm/, 'unknown option');
      await expectThrows(() => new TwoLayerNet(engine, { reg: Number.NaN }), /TwoLayerNet: reg must be a finite f32 number ≥ 0, got NaN/, 'reg NaN');
      await expectThrows(() => new FullyConnectedNet(engine, { hiddenDims: [3], reg: -1 }), /reg must be a finite f32 number ≥ 0, got -1/, 'reg < 0');
      model.params.W2 = engine.tensor(new Float32Array(12), [4, 3]);
      model.reg = -2;
      await expectThrows(() => model.loss(X), /TwoLayerNet.loss: reg must be a finite f32 number ≥ 0, got -2/, 'reg assigned < 0');
      model.reg = 0;
      await expectThrows(() => model.loss(new Float32Array(12) as never), /TwoLayerNet.loss: X must be a Tensor, got Float32Array/, 'X as an array');
      const W1 = model.params.W1!;
      model.params.W1 = new Float32Array(24) as never;
      await expectThrows(() => model.loss(X), /TwoLayerNet.loss: params.W1 must be a Tensor, got Float32Array/, 'a parameter as an array');
      model.params.W1 = W1;
      await expectThrows(() => model.predict(X, { batchSize: 0 }), /TwoLayerNet.predict: batchSize must be a positive integer, got 0/, 'predict batch 0');
      model.dispose();
    },
  },
  {
    name: 'model: captured steps thrown away (more shapes than the cache keeps) free their results; a failed capture leaks nothing',
    async run(engine) {
      const model = new FullyConnectedNet(engine, { inputDim: 5, hiddenDims: [4], numClasses: 3, batchnorm: true, weightScale: 0.5, seed: 1 });
      const before = engine.stats().liveTensors;
      for (let i = 0; i < 24; i++) {
        const N = 1 + (i % 12); // 12 shapes × 2 modes: more than the 8 captures kept
        const X = engine.tensor(new Float32Array(N * 5).fill(0.5), [N, 5]);
        const y = engine.tensor(new Int32Array(N));
        const out = i % 2 ? model.loss(X) : model.loss(X, y);
        if (out instanceof Tensor) out.dispose();
        else for (const t of [out.loss, ...Object.values(out.grads)]) t.dispose();
        X.dispose();
        y.dispose();
      }
      const kept = engine.stats().liveTensors - before;
      // At most 8 captures stay, each with its inputs and results (a train step: loss, 6 grads, X, y).
      expectTrue(kept <= 8 * 9, `${kept} tensors stayed alive after 24 calls`);
      const X = engine.tensor(new Float32Array(10).fill(0.5), [2, 5]);
      model.bnParams[0]!.momentum = 2;
      const live = engine.stats().liveTensors;
      for (let i = 0; i < 3; i++) await expectThrows(() => model.loss(X, engine.tensor(new Int32Array(2))), /momentum must be a number in \[0, 1\]/, 'bad momentum');
      // Each refused call made its label tensor (the test's own): nothing else is left.
      expectTrue(engine.stats().liveTensors - live === 3, `a failed capture left ${engine.stats().liveTensors - live - 3} tensors`);
      model.dispose();
      X.dispose();
    },
  },
  {
    name: 'model: batchnorm momentum, eps and running-average tensors changed after a capture take effect (the step is captured again)',
    async run(engine) {
      const make = () => new FullyConnectedNet(engine, { inputDim: 4, hiddenDims: [3], numClasses: 2, batchnorm: true, weightScale: 0.5, seed: 3 });
      const X = engine.tensor(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), [6, 4]);
      const y = engine.tensor(new Int32Array([0, 1, 0, 1, 1, 0]));
      const results: string[] = [];
      for (const capture of [false, true]) {
        const model = make();
        const first = model.loss(X, y, { capture }) as { loss: Tensor; grads: Record<string, Tensor> };
        first.loss.dispose();
        for (const g of Object.values(first.grads)) g.dispose();
        model.bnParams[0]!.momentum = 0;
        const fresh = engine.zeros([3]);
        model.bnParams[0]!.runningVar!.dispose();
        model.bnParams[0]!.runningVar = fresh;
        const second = model.loss(X, y, { capture }) as { loss: Tensor; grads: Record<string, Tensor> };
        results.push(`${Array.from(await model.bnParams[0]!.runningMean!.read()).map((v) => v.toFixed(5))} | ${Array.from(await fresh.read()).map((v) => v.toFixed(5))}`);
        second.loss.dispose();
        for (const g of Object.values(second.grads)) g.dispose();
        model.dispose();
      }
      expectTrue(results[0] === results[1], `eager vs captured running averages:\n${results[0]}\n${results[1]}`);
      X.dispose();
      y.dispose();
    },
  },
  {
    name: 'model.trainPass writes the gradients into a slab\'s views (gradsInto): the same values bit for bit, no copy recorded, the views still the caller\'s; bad targets are refused first',
    async run(engine) {
      const rng = new Random(41);
      // Batchnorm (dgamma and dbeta: two views of one slab written by one kernel) and L2 (added in place).
      const model = new FullyConnectedNet(engine, { hiddenDims: [20, 12], inputDim: 9, numClasses: 5, batchnorm: true, reg: 0.3, weightScale: 0.3, seed: 5 });
      const X = upload(engine, randn(rng, [13, 9]));
      const y = engine.tensor(randomLabels(rng, 13, 5));
      const plain = model.trainPass(X, y);
      const slab = engine.slab(model.expectedShapes(), 'test.grads');
      const step = engine.capture(() => model.trainPass(X, y, { gradsInto: slab.views }), 'test.gradsInto');
      const copies = step.commands.filter((c) => c.kind === 'copy').length;
      expectTrue(copies === 0, `gradsInto recorded ${copies} copies`);
      const into = step.result;
      expectTrue(await into.loss.item() === (await plain.loss.item()), 'the same loss');
      for (const [name, g] of Object.entries(plain.grads)) {
        expectTrue(into.grads[name] === slab.views[name], `the gradient of ${name} is its view`);
        const [a, b] = [await download(g), await download(into.grads[name]!)];
        expectTrue(a.every((v, i) => Object.is(v, b[i])), `d${name} written into its view differs from the one made anew`);
      }
      const gone = engine.zeros([12]);
      gone.dispose();
      const inputs = engine.slab({ X: [13, 9], b2: [12] }, 'test.inputs');
      engine.copy(X, inputs.views.X!);
      const inX = inputs.views.b2!;
      const XinSlab = inputs.views.X!;
      const bad: Array<[Record<string, Tensor>, RegExp]> = [
        [{ W9: slab.views.W1! }, /gradsInto\.W9 names no parameter \(the parameters: W1, b1,/],
        [{ W1: slab.views.W2! }, /gradsInto\.W1 must be an f32 tensor of shape \[9, 20\], got f32 \[20, 12\]/],
        [{ W1: model.params.W1! }, /gradsInto\.W1 shares its GPU buffer with the parameters/],
        [{ b1: slab.views.b1!, beta1: slab.views.b1! }, /gradsInto\.b1 and gradsInto\.beta1 overlap/],
        [{ W1: slab.views.W1!, b1: null as never }, /gradsInto\.b1 must be a Tensor, got null/],
        [{ constructor: slab.views.W1! }, /gradsInto\.constructor names no parameter/],
        [{ b2: gone }, /gradsInto\.b2 \[12\] was disposed/],
        [{ b2: inX }, /gradsInto\.b2 shares its GPU buffer with the input X or y/],
      ];
      const liveBefore = engine.stats().liveTensors;
      const dispatchesBefore = engine.stats().dispatches;
      for (const [gradsInto, pattern] of bad) await expectThrows(() => model.trainPass(XinSlab, y, { gradsInto }), pattern, `gradsInto ${Object.keys(gradsInto)}`);
      expectTrue(engine.stats().dispatches === dispatchesBefore && engine.stats().liveTensors === liveBefore, 'a refused gradsInto recorded or left nothing');
      for (const g of Object.values(plain.grads)) g.dispose();
      plain.loss.dispose();
      into.loss.dispose();
      step.dispose();
      for (const t of [slab.flat, ...Object.values(slab.views), inputs.flat, ...Object.values(inputs.views), X, y]) t.dispose();
      model.dispose();
    },
  },
  {
    name: 'tape: a leaf used twice gets both gradients added into its target; a gradient an op made itself, or passed on unchanged, is copied there',
    async run(engine) {
      const rng = new Random(43);
      const [N, D] = [5, 8];
      const x = upload(engine, randn(rng, [N, D]));
      const W = upload(engine, randn(rng, [D, D], 0.5));
      const b = upload(engine, randn(rng, [D]));
      const dout = upload(engine, randn(rng, [N, D]));
      // out = 2·(x·W + b)·W + b: W and b used twice; `double` makes its own gradient (no `into`).
      const double = defineOp({
        name: 'double',
        forward(t: Tensor) {
          const out = engine.empty(t.shape, 'f32', 'double');
          engine.copy(t, out);
          axpyInPlace(engine, out, t, 1);
          return { out, saved: null };
        },
        backward(d: Tensor) {
          const dx = engine.empty(d.shape, 'f32', 'double.dx');
          engine.copy(d, dx);
          axpyInPlace(engine, dx, d, 1);
          return dx;
        },
        temporaries: () => [],
      });
      // `same` passes its dout on unchanged as x's gradient (the tape copies it into x's target).
      const same = defineOp({
        name: 'same',
        forward(t: Tensor) {
          const out = engine.empty(t.shape, 'f32', 'same');
          engine.copy(t, out);
          return { out, saved: null };
        },
        backward: (d: Tensor) => d,
        temporaries: () => [],
      });
      const run = (into?: Map<Tensor, Tensor>) => {
        const tape = new Tape(engine);
        for (const t of [W, b, x]) tape.watch(t);
        const x1 = tape.apply(same, [x], { dx: x });
        const h = tape.apply(affine, [x1, W, b, false], { dx: x1, dw: W, db: b });
        const h2 = tape.apply(double, [h], { dx: h });
        const out = tape.apply(affine, [h2, W, b, false], { dx: h2, dw: W, db: b });
        const grads = tape.backward(out, dout, into);
        tape.dispose();
        return grads;
      };
      const fresh = run();
      const slab = engine.slab({ W: [D, D], b: [D], x: [N, D] }, 'test.tape');
      const into = run(new Map([[W, slab.views.W!], [b, slab.views.b!], [x, slab.views.x!]]));
      for (const [leaf, name] of [[W, 'W'], [b, 'b'], [x, 'x']] as const) {
        expectTrue(into.get(leaf) === slab.views[name], `the gradient of ${name} is its target`);
        expectClose(await download(into.get(leaf)!), await download(fresh.get(leaf)!), 1e-6, `d${name} into its target (used ${name === 'x' ? 'once' : 'twice'})`);
      }
      for (const g of fresh.values()) g.dispose();
      // One leaf in both inputs of one op (out = z + z): its target once, the second gradient added in.
      const pair = defineOp({
        name: 'pair',
        forward(a: Tensor, c: Tensor) {
          const out = engine.empty(a.shape, 'f32', 'pair');
          engine.copy(a, out);
          axpyInPlace(engine, out, c, 1);
          return { out, saved: null };
        },
        backward: (d: Tensor) => ({ a: d, c: d }),
        temporaries: () => [],
      });
      const tape = new Tape(engine);
      tape.watch(x);
      const zz = tape.apply(pair, [x, x], { a: x, c: x });
      const dz = tape.backward(zz, dout, new Map([[x, slab.views.x!]]));
      tape.dispose();
      expectTrue(dz.get(x) === slab.views.x, 'the gradient of a leaf used twice by one op is its target');
      expectClose(await download(slab.views.x!), (await download(dout)).map((v) => 2 * v), 1e-6, 'd(z + z)/dz = 2·dout, into the target');
      for (const t of [x, W, b, dout, slab.flat, ...Object.values(slab.views)]) t.dispose();
    },
  },
];
