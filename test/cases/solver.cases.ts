// Solver cases: overfitting a small subset, the course's options and checks, reproducibility, NaN stops, async progress hooks, checkpoints.

import { Engine, checkpoint, datasets } from '../../src/index';
import { FullyConnectedNet } from '../../src/models/fully-connected-net';
import { TwoLayerNet } from '../../src/models/two-layer-net';
import { Random } from '../../src/random';
import { Solver, type SolverOptions } from '../../src/solver/solver';
import type { Tensor } from '../../src/tensor';
import { type TestCase, download, expectThrows, expectTrue } from '../harness/check';

const quiet = { verbose: false } satisfies SolverOptions;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function sample(engine: Engine, count: number): Promise<{ X: Tensor; y: Tensor }> {
  const { X, y } = await datasets.fashionMnist(engine, { split: 'train', source: 'sample', limit: count });
  return { X, y };
}

function smallNet(engine: Engine, options: Partial<ConstructorParameters<typeof FullyConnectedNet>[1]> = {}): FullyConnectedNet {
  return new FullyConnectedNet(engine, { hiddenDims: [64, 32], inputDim: 784, numClasses: 10, weightScale: 0.05, seed: 1, ...options });
}

export const cases: TestCase[] = [
  {
    name: 'solver: a 50-example subset of Fashion-MNIST is overfit to 100% training accuracy',
    timeout: 300_000,
    async run(engine) {
      const { X, y } = await sample(engine, 50);
      const model = smallNet(engine, { hiddenDims: [100, 100], weightScale: 5e-2 });
      const solver = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, {
        ...quiet,
        updateRule: 'adam',
        optimConfig: { learningRate: 5e-3 },
        batchSize: 25,
        numEpochs: 25,
        seed: 4,
      });
      await solver.train();
      const acc = await solver.checkAccuracy(X, y);
      expectTrue(acc === 1, `training accuracy after overfitting 50 examples: ${acc} (history ${solver.trainAccHistory.join(', ')})`);
      expectTrue(solver.lossHistory.length === 50, `one loss per iteration: ${solver.lossHistory.length}`);
      expectTrue(solver.lossHistory.at(-1)! < 0.1 * solver.lossHistory[0]!, `loss fell: ${solver.lossHistory[0]} → ${solver.lossHistory.at(-1)}`);
      solver.dispose();
      model.dispose();
    },
  },
  {
    name: "solver: the course's schedule — accuracy checks at the first iteration, each epoch end and the last; lr decays per epoch; best parameters restored",
    timeout: 300_000,
    async run(engine) {
      const { X, y } = await sample(engine, 300);
      // Batchnorm over 40 units with minibatches of 40: the best copy of a running average has the
      // byte size of the step's label buffer (a pooled buffer shared by mistake would show here).
      const model = smallNet(engine, { hiddenDims: [40, 40], batchnorm: true });
      const progress: number[] = [];
      const epochEnds: number[] = [];
      const solver = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, {
        ...quiet,
        updateRule: 'sgdMomentum',
        optimConfig: { learningRate: 1e-2 },
        lrDecay: 0.5,
        batchSize: 40, // 300 / 40 = 7 iterations per epoch (floor)
        numEpochs: 3,
        numTrainSamples: 100,
        printEvery: 5,
        seed: 2,
        onProgress: (p) => {
          progress.push(p.iteration);
          if (p.epochEnd) epochEnds.push(p.iteration);
        },
      });
      expectTrue(solver.iterationsPerEpoch === 7 && solver.numIterations === 21, `iterations ${solver.iterationsPerEpoch} × epochs`);
      await solver.train();
      expectTrue(solver.epoch === 3 && solver.iteration === 21, `epoch ${solver.epoch}, iteration ${solver.iteration}`);
      expectTrue(solver.trainAccHistory.length === 4 && solver.valAccHistory.length === 4, `checks: ${solver.valAccHistory.length} (first + 3 epoch ends)`);
      expectTrue(Math.abs(solver.optimConfig.learningRate! - 1e-2 * 0.125) < 1e-12, `lr after 3 decays: ${solver.optimConfig.learningRate}`);
      expectTrue(solver.optimConfig.momentum === 0.9, 'defaults filled into the config');
      for (const it of [1, 6, 7, 11, 14, 16, 21]) expectTrue(progress.includes(it), `onProgress at iteration ${it}: ${progress.join(',')}`);
      expectTrue(epochEnds.join() === '7,14,21', `epochEnd reported at iterations ${epochEnds.join(',')}, expected 7,14,21`);
      const best = Math.max(...solver.valAccHistory);
      expectTrue(solver.bestValAcc === best, `bestValAcc ${solver.bestValAcc} = max of history ${best}`);
      // The restored parameters are the best ones: scoring them again gives the best accuracy.
      expectTrue((await solver.checkAccuracy(X, y)) === best, 'the model holds the best parameters at the end');
      const w = await download(model.params.W1!);
      const bw = await download(solver.bestParams.W1!);
      expectTrue(w.every((v, i) => v === bw[i]), 'model.params.W1 equals solver.bestParams.W1');
      solver.dispose();
      model.dispose();
    },
  },
  {
    name: 'solver: a seed makes a run reproducible (minibatches, dropout, accuracy subsamples)',
    timeout: 300_000,
    async run(engine) {
      const { X, y } = await sample(engine, 200);
      const run = async () => {
        const model = smallNet(engine, { dropout: 0.3, batchnorm: true });
        const solver = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, {
          ...quiet,
          updateRule: 'adam',
          optimConfig: { learningRate: 1e-3 },
          batchSize: 50,
          numEpochs: 2,
          numTrainSamples: 50,
          seed: 11,
        });
        await solver.train();
        const result = { losses: solver.lossHistory.slice(), accs: solver.trainAccHistory.slice(), w: await download(model.params.W2!) };
        solver.dispose();
        model.dispose();
        return result;
      };
      const a = await run();
      const b = await run();
      expectTrue(a.losses.join() === b.losses.join(), `same losses: ${a.losses} vs ${b.losses}`);
      expectTrue(a.accs.join() === b.accs.join(), 'same accuracy checks');
      expectTrue(a.w.every((v, i) => v === b.w[i]), 'same final weights');
    },
  },
  {
    name: 'solver: unknown options, unknown update rules and bad data throw clear errors',
    async run(engine) {
      const { X, y } = await sample(engine, 20);
      const model = new TwoLayerNet(engine, { inputDim: 784, hiddenDim: 8 });
      const data = { XTrain: X, yTrain: y, XVal: X, yVal: y };
      const narrow20 = () => engine.tensor(new Float32Array(20 * 10), [20, 10]);
      await expectThrows(() => new Solver(model, data, { batch_size: 10 } as never), /^Unrecognized arguments batch_size/, 'unknown option');
      await expectThrows(() => new Solver(model, data, { updateRule: 'adagrad' as never }), /Invalid update_rule "adagrad"/, 'unknown rule');
      await expectThrows(() => new Solver(model, { ...data, yVal: engine.tensor(new Float32Array(20)) }), /Solver: data\.yVal must be i32 of shape \[20\], got f32 \[20\]/, 'labels of the wrong type');
      const empty = engine.tensor(new Float32Array(0), [0, 784]);
      await expectThrows(() => new Solver(model, { ...data, XTrain: empty, yTrain: engine.tensor(new Int32Array(0)) }), /Solver: data\.XTrain has no rows: \[0, 784\]/, 'no training rows');
      await expectThrows(() => new Solver(model, { ...data, XTrain: narrow20() }), /Solver: data\.XTrain must be f32 \(N, …\) with 784 features per row, got f32 \[20, 10\]/, 'narrow training images');
      await expectThrows(() => new Solver(model, { ...data, yVal: X }), /Solver: data\.yVal \[20, 784\] holds 8-bit data packed on the GPU/, 'images as labels');
      await expectThrows(() => new Solver(model, data, { batchSize: 0 }), /batchSize must be a positive integer/, 'batch size 0');
      await expectThrows(() => new Solver(model, data, { numTrainSamples: 'x' as never }), /numTrainSamples must be a positive integer or null, got x/, 'numTrainSamples');
      // The optimizer's config is checked when the Solver is made, not at the first train().
      await expectThrows(
        () => new Solver(model, data, { updateRule: 'adam', optimConfig: { learning_rate: 1e-3 } as never }),
        /adam: config key 'learning_rate' is spelled 'learningRate'/,
        'snake_case optimConfig',
      );
      await expectThrows(() => new Solver(model, data, { optimConfig: { learningRate: -1 } }), /sgd: learningRate must be .*got -1/, 'negative learning rate');
      // checkAccuracy's options, and data the model cannot take, before any GPU work.
      const solver = new Solver(model, data, quiet);
      const live = engine.stats().liveTensors;
      await expectThrows(() => solver.checkAccuracy(X, y, { batchSize: 0 }), /checkAccuracy: batchSize must be a positive integer, got 0/, 'batch 0');
      await expectThrows(() => solver.checkAccuracy(X, y, { numSamples: -1 }), /checkAccuracy: numSamples must be a positive integer, got -1/, 'numSamples -1');
      const narrow = engine.tensor(new Float32Array(20 * 10), [20, 10]);
      await expectThrows(() => solver.checkAccuracy(narrow, y), /checkAccuracy: X must be f32 \(N, …\) with 784 features per row, got f32 \[20, 10\]/, 'wrong width');
      narrow.dispose();
      expectTrue(engine.stats().liveTensors === live, `refused calls left ${engine.stats().liveTensors - live} tensors behind`);
      // The same images with other labels: scored against those labels (a cached step once kept reading the first ones).
      const predicted = await model.predict(X);
      const right = engine.tensor(predicted);
      const shifted = engine.tensor(predicted.map((c) => (c + 1) % 10));
      expectTrue((await solver.checkAccuracy(X, right)) === 1, 'its own predictions: accuracy 1');
      expectTrue((await solver.checkAccuracy(X, shifted)) === 0, 'every label shifted: accuracy 0');
      right.dispose();
      shifted.dispose();
      // Options of the wrong type are refused when the Solver is made, not when training reaches them.
      await expectThrows(() => new Solver(model, data, null as never), /Solver: options must be an object, got null/, 'null options');
      await expectThrows(() => new Solver(model, null as never), /Solver: data must be \{ XTrain, yTrain, XVal, yVal \}, got null/, 'null data');
      await expectThrows(() => new Solver({} as never, data), /Solver: model must be a TwoLayerNet or FullyConnectedNet, got Object/, 'not a model');
      await expectThrows(() => new Solver(model, data, { seed: 1.5 }), /Solver: seed must be an integer in \[0, 2\^32\), got 1.5/, 'fractional seed');
      await expectThrows(() => new Solver(model, data, { seed: 'x' as never }), /Solver: seed must be an integer in \[0, 2\^32\), got "x"/, 'string seed');
      await expectThrows(() => new Solver(model, data, { lrDecay: Infinity }), /Solver: lrDecay must be a finite number > 0, got Infinity/, 'infinite lrDecay');
      await expectThrows(() => new Solver(model, data, { lrDecay: '0.5' as never }), /Solver: lrDecay must be a finite number > 0, got "0.5"/, 'string lrDecay');
      await expectThrows(() => new Solver(model, data, { onProgress: 5 as never }), /Solver: onProgress must be a function, got number/, 'onProgress');
      await expectThrows(() => new Solver(model, data, { log: 'x' as never }), /Solver: log must be a function, got string/, 'log');
      // Data that is disposed, or on another Engine, before any GPU work.
      const gone = engine.tensor(new Float32Array(20 * 784), [20, 784]);
      gone.dispose();
      await expectThrows(() => new Solver(model, { ...data, XTrain: gone }), /Solver: data\.XTrain \[20, 784\] was disposed/, 'disposed data');
      const other = await Engine.create();
      try {
        const otherX = other.tensor(new Float32Array(20 * 784), [20, 784]);
        const otherY = other.tensor(new Int32Array(20));
        await expectThrows(() => new Solver(model, { ...data, XVal: otherX, yVal: otherY }), /Solver: data\.XVal belongs to another Engine than the model/, 'data on two Engines');
        await expectThrows(() => new Solver(model, { XTrain: otherX, yTrain: otherY, XVal: otherX, yVal: otherY }), /Solver: data\.XTrain belongs to another Engine than the model/, "another Engine's data");
        await expectThrows(() => solver.checkAccuracy(otherX, otherY), /checkAccuracy: X belongs to another Engine than the model/, "another Engine's data to checkAccuracy");
      } finally {
        other.destroy();
      }
      // Labels outside the model's classes: named at the first train(), before a step runs.
      const wrong = engine.tensor(Int32Array.from({ length: 20 }, (_, i) => (i === 13 ? 10 : i % 10)));
      const labelled = new Solver(model, { ...data, yVal: wrong }, quiet);
      const W1 = await download(model.params.W1!);
      await expectThrows(() => labelled.train(), /Solver: data\.yVal\[13\] is 10: labels must be in \[0, 10\) for a model with 10 classes/, 'labels out of range');
      const after = await download(model.params.W1!);
      expectTrue(labelled.iteration === 0 && W1.every((v, i) => v === after[i]), 'labels out of range: no step was taken');
      labelled.dispose();
      wrong.dispose();
      solver.dispose();
      model.dispose();
    },
  },
  {
    name: "solver: checkAccuracy takes numpy's argmax (the first of tied scores) and counts only the rows of a last, partial batch",
    async run(engine) {
      // Every row scores [2, 2, −1]: the first maximum is class 0. 130 rows in batches of 100: the
      // second batch holds 30 rows and 70 unused slots (which gather row 0, labelled 0).
      const model = new TwoLayerNet(engine, { inputDim: 4, hiddenDim: 5, numClasses: 3, seed: 1 });
      model.params.W2 = engine.zeros([5, 3]);
      model.params.b2 = engine.tensor([2, 2, -1]);
      const N = 130;
      const X = engine.tensor(Float32Array.from({ length: N * 4 }, (_, i) => Math.sin(i)), [N, 4]);
      const y = engine.tensor(Int32Array.from({ length: N }, (_, i) => i % 3));
      const predicted = await model.predict(X);
      expectTrue(predicted.every((c) => c === 0), `predict: the first of tied scores, class 0: ${predicted.slice(0, 6)}…`);
      const solver = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, quiet);
      const zeros = Math.ceil(N / 3); // rows labelled 0
      for (const batchSize of [100, 130, 7]) {
        const acc = await solver.checkAccuracy(X, y, { batchSize });
        expectTrue(acc === zeros / N, `batch ${batchSize}: accuracy ${acc}, expected ${zeros}/${N} = ${zeros / N}`);
      }
      solver.dispose();
      model.dispose();
      for (const t of [X, y]) t.dispose();
    },
  },
  {
    name: 'solver: minibatches are drawn from every training row (a row that no step sees keeps its first-layer weights)',
    async run(engine) {
      // One-hot inputs: row i of X moves only row i of W1, and only when a minibatch holds example i.
      // 6 rows, minibatches of 60 (about 10 of each; the chance of missing one is 6·(5/6)⁶⁰ ≈ 1e-4, and the seed fixes it).
      const N = 6;
      const model = new TwoLayerNet(engine, { inputDim: N, hiddenDim: 8, numClasses: 3, weightScale: 0.5, seed: 3 });
      const X = engine.tensor(Float32Array.from({ length: N * N }, (_, i) => (i % (N + 1) === 0 ? 1 : 0)), [N, N]);
      const y = engine.tensor(Int32Array.from({ length: N }, (_, i) => i % 3));
      const solver = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, { ...quiet, optimConfig: { learningRate: 0.5 }, batchSize: 60, seed: 6 });
      const before = await download(model.params.W1!);
      solver.step();
      solver.step();
      const after = await download(model.params.W1!);
      for (let r = 0; r < N; r++) {
        const moved = Array.from({ length: 8 }, (_, j) => after[r * 8 + j]! !== before[r * 8 + j]!).some(Boolean);
        expectTrue(moved, `row ${r} of W1 did not move in two steps of 60 examples: example ${r} was never drawn`);
      }
      solver.dispose();
      model.dispose();
      for (const t of [X, y]) t.dispose();
    },
  },
  {
    name: 'solver: when the last check is not the best, train() ends with the best parameters and running averages back in the model',
    async run(engine) {
      // The validation labels are what the model predicts as made; training on other (random) labels
      // moves it away from them, so the first check scores best and the later ones less.
      const rng = new Random(21);
      const N = 60;
      const X = engine.tensor(Float32Array.from({ length: N * 10 }, () => rng.normal()), [N, 10]);
      const yTrain = engine.tensor(Int32Array.from({ length: N }, () => rng.int(4)));
      const model = new FullyConnectedNet(engine, { hiddenDims: [30], inputDim: 10, numClasses: 4, batchnorm: true, weightScale: 0.3, seed: 2 });
      const yVal = engine.tensor(await model.predict(X));
      const solver = new Solver(model, { XTrain: X, yTrain, XVal: X, yVal }, { ...quiet, updateRule: 'sgdMomentum', optimConfig: { learningRate: 0.3 }, batchSize: 20, numEpochs: 6, seed: 5 });
      await solver.train();
      const history = solver.valAccHistory;
      expectTrue(history.at(-1)! < solver.bestValAcc && solver.bestValAcc === Math.max(...history), `the last check (${history.at(-1)}) is not below the best (${solver.bestValAcc}): ${history}`);
      expectTrue((await solver.checkAccuracy(X, yVal)) === solver.bestValAcc, `after train() the model scores ${await solver.checkAccuracy(X, yVal)}, the best was ${solver.bestValAcc}`);
      const [w, bw] = [await download(model.params.W1!), await download(solver.bestParams.W1!)];
      expectTrue(w.every((v, i) => v === bw[i]), 'model.params.W1 equals solver.bestParams.W1');
      solver.dispose();
      model.dispose();
      // The same run with a hook that fails at the last report: nothing is left to resume, so it ends
      // as a finished run does, with the best parameters in the model.
      const again = new FullyConnectedNet(engine, { hiddenDims: [30], inputDim: 10, numClasses: 4, batchnorm: true, weightScale: 0.3, seed: 2 });
      const failing: Solver = new Solver(again, { XTrain: X, yTrain, XVal: X, yVal }, {
        ...quiet,
        updateRule: 'sgdMomentum',
        optimConfig: { learningRate: 0.3 },
        batchSize: 20,
        numEpochs: 6,
        seed: 5,
        onProgress: (p) => {
          if (p.iteration === p.numIterations) throw new Error('the last report failed');
        },
      });
      await expectThrows(() => failing.train(), /the last report failed/, 'a hook failing at the last report');
      expectTrue(failing.finished && failing.valAccHistory.at(-1)! < failing.bestValAcc, `finished ${failing.finished}, history ${failing.valAccHistory}`);
      expectTrue((await failing.checkAccuracy(X, yVal)) === failing.bestValAcc, `after a failed last report the model scores ${await failing.checkAccuracy(X, yVal)}, the best was ${failing.bestValAcc}`);
      failing.dispose();
      again.dispose();
      for (const t of [X, yTrain, yVal]) t.dispose();
    },
  },
  {
    name: 'solver: model.reg changed between steps takes effect (0 → 1000: the step is captured again with its L2 terms)',
    async run(engine) {
      const { X, y } = await sample(engine, 40);
      const model = smallNet(engine);
      const solver = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, { ...quiet, optimConfig: { learningRate: 1e-3 }, batchSize: 20, seed: 2 });
      const norm = async () => Math.hypot(...(await download(model.params.W1!)));
      solver.step();
      solver.step();
      const before = await norm();
      // w −= lr·(dw + reg·w) with lr·reg = 1: the weights collapse to −lr·dw, a tiny fraction of their norm.
      model.reg = 1000;
      solver.step();
      const after = await norm();
      expectTrue(after < 0.05 * before, `with reg 1000 the step kept ‖W1‖ at ${after} (before: ${before}): the L2 gradient is missing`);
      solver.dispose();
      model.dispose();
    },
  },
  {
    name: 'solver: a NaN loss stops training with the iteration named and the best parameters kept',
    timeout: 300_000,
    async run(engine) {
      const { X, y } = await sample(engine, 100);
      // Each step multiplies the weights by 1 − lr·reg = −9999: the L2 term overflows within a few steps.
      const model = smallNet(engine, { reg: 1e3 });
      const solver = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, {
        ...quiet,
        updateRule: 'sgd',
        optimConfig: { learningRate: 10 },
        batchSize: 20,
        numEpochs: 5,
        printEvery: 1,
        seed: 3,
      });
      await expectThrows(() => solver.train(), /loss became (NaN|Infinity|-Infinity) at iteration \d+ \(epoch \d\); training stopped/, 'NaN stop');
      const w = await download(model.params.W1!);
      expectTrue(w.every(Number.isFinite), 'the restored (best) parameters are finite');
      expectTrue(solver.valAccHistory.length >= 1, 'the first check happened');
      // The counters stand at the failing step (steps queued after it ran too, before the bulk read).
      expectTrue(solver.lossHistory.length === solver.iteration, `lossHistory ${solver.lossHistory.length} vs iteration ${solver.iteration}`);
      expectTrue(!Number.isFinite(solver.lossHistory.at(-1)!), 'the last loss is the non-finite one');
      expectTrue(solver.epoch === Math.floor(solver.iteration / solver.iterationsPerEpoch), `epoch ${solver.epoch} at iteration ${solver.iteration}`);
      solver.dispose();
      model.dispose();
      // Non-finite at the first step (here: an L2 term past f32's range): the model is left as it was made, not NaN.
      const fresh = smallNet(engine, { reg: 1e38 });
      const initial = await download(fresh.params.W1!);
      const failing = new Solver(fresh, { XTrain: X, yTrain: y, XVal: X, yVal: y }, { ...quiet, updateRule: 'adam', batchSize: 20, numEpochs: 1 });
      await expectThrows(() => failing.train(), /loss became (NaN|Infinity) at iteration 1 \(epoch 1\); training stopped\. The initial parameters were restored, the optimizer reset\./, 'non-finite at the first step');
      // The moments went through the diverged step: they start afresh with the restored parameters.
      const { m, v, t } = failing.optimConfig as { m: Tensor; v: Tensor; t: number };
      const [mm, vv] = [await download(m), await download(v)];
      expectTrue(t === 0 && mm.every((x) => x === 0) && vv.every((x) => x === 0), `after a non-finite loss Adam's state is t ${t}, m ${mm.find((x) => x !== 0)}, v ${vv.find((x) => x !== 0)}`);
      const after = await download(fresh.params.W1!);
      expectTrue(after.every((v, i) => v === initial[i]), 'the initial parameters are back');
      failing.dispose();
      fresh.dispose();
    },
  },
  {
    name: 'solver: an async onProgress is awaited before the next step (its time not counted as training); stop() inside it returns train() there, and train() again resumes',
    timeout: 300_000,
    async run(engine) {
      const { X, y } = await sample(engine, 100);
      const model = smallNet(engine);
      const reports: Array<{ iteration: number; atEntry: number; afterWait: number; samplesPerSec: number }> = [];
      // Report 3 waits a whole second: were it counted, report 4 (one step of 20 samples) would say at most 20 samples/s.
      const WAIT_AT_3_MS = 1000;
      const solver: Solver = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, {
        ...quiet,
        updateRule: 'adam',
        optimConfig: { learningRate: 1e-3 },
        batchSize: 20, // 5 iterations per epoch, 10 in all
        numEpochs: 2,
        numTrainSamples: 50,
        printEvery: 1,
        seed: 6,
        onProgress: async (p) => {
          const atEntry = solver.iteration;
          await sleep(p.iteration === 3 ? WAIT_AT_3_MS : 5);
          reports.push({ iteration: p.iteration, atEntry, afterWait: solver.iteration, samplesPerSec: p.samplesPerSec });
          // Stopped after the hook's own wait: only an awaited hook stops train() at this iteration.
          if (p.iteration === 6) solver.stop();
        },
      });
      await solver.train();
      expectTrue(solver.iteration === 6, `stop() inside the awaited hook of iteration 6 returned train() at iteration ${solver.iteration}`);
      expectTrue(reports.map((r) => r.iteration).join() === '1,2,3,4,5,6', `reports ${reports.map((r) => r.iteration)}`);
      for (const r of reports) {
        expectTrue(r.atEntry === r.iteration && r.afterWait === r.iteration, `report ${r.iteration}: the Solver was at iteration ${r.atEntry}, then ${r.afterWait} after the hook's wait (a step ran meanwhile)`);
      }
      const after3 = reports[3]!.samplesPerSec;
      expectTrue(after3 > (20 / WAIT_AT_3_MS) * 1000 * 1.25, `report 4 says ${after3} samples/s: the 1 s the hook of report 3 waited was counted as training`);
      // train() again resumes after the stop, and runs to the end with every hook awaited.
      await solver.train();
      expectTrue(solver.finished && solver.iteration === 10 && solver.lossHistory.length === 10, `resumed to iteration ${solver.iteration}, ${solver.lossHistory.length} losses`);
      expectTrue(reports.map((r) => r.iteration).join() === '1,2,3,4,5,6,7,8,9,10', `reports after resuming ${reports.map((r) => r.iteration)}`);
      expectTrue(reports.every((r) => r.atEntry === r.iteration && r.afterWait === r.iteration), 'after resuming, a step ran during a hook');
      solver.dispose();
      model.dispose();
    },
  },
  {
    name: 'solver: an onProgress that rejects (or throws) stops train() with its error where it was (last parameters kept, train() resumes); train() inside train() is refused; a sync hook works as before',
    timeout: 300_000,
    async run(engine) {
      const { X, y } = await sample(engine, 100);
      const data = { XTrain: X, yTrain: y, XVal: X, yVal: y };
      const options: SolverOptions = { ...quiet, updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, batchSize: 20, numEpochs: 2, numTrainSamples: 50, printEvery: 1, seed: 8 };
      for (const kind of ['rejects', 'throws'] as const) {
        const model = smallNet(engine);
        const failure = new Error(`the hook ${kind} at iteration 7`);
        let failOnce = true;
        let atFailure: Float64Array | null = null;
        const solver: Solver = new Solver(model, data, {
          ...options,
          onProgress:
            kind === 'rejects'
              ? async (p) => {
                  if (p.iteration !== 7 || !failOnce) return;
                  failOnce = false;
                  atFailure = await download(model.params.W1!);
                  throw failure;
                }
              : (p) => {
                  if (p.iteration !== 7 || !failOnce) return;
                  failOnce = false;
                  throw failure;
                },
        });
        let caught: unknown = null;
        await solver.train().catch((error: unknown) => (caught = error));
        expectTrue(caught === failure, `a hook that ${kind}: train() ${caught === null ? 'resolved' : `rejected with ${String(caught)}`}, not with the hook's error`);
        expectTrue(solver.iteration === 7, `a hook that ${kind}: no step after the failing report (iteration ${solver.iteration})`);
        // Stopped, not diverged: the model keeps the parameters of step 7, which its optimizer state and
        // counters go with (steps 6 and 7 moved them past the best check's, at iteration 5).
        const [w, best] = [await download(model.params.W1!), await download(solver.bestParams.W1!)];
        expectTrue(w.some((v, i) => v !== best[i]), `a hook that ${kind}: the best parameters were put into the model`);
        if (atFailure) expectTrue(w.every((v, i) => v === atFailure![i]), `a hook that ${kind}: the parameters changed after the failing report`);
        await solver.train();
        expectTrue(solver.finished && solver.iteration === 10, `a hook that ${kind}: train() again resumed to iteration ${solver.iteration}`);
        solver.dispose();
        model.dispose();
      }
      // train() from inside a hook would run a second loop over the same counters, past the end: refused.
      {
        const model = smallNet(engine);
        let nested: unknown = null;
        const solver: Solver = new Solver(model, data, {
          ...options,
          onProgress: async (p) => {
            if (p.iteration === 3) nested = await solver.train().then(() => 'resolved', (error: unknown) => error);
          },
        });
        await solver.train();
        expectTrue(nested instanceof Error && /Solver\.train: this Solver is already training/.test(nested.message), `train() inside train(): ${String(nested)}`);
        expectTrue(solver.iteration === 10 && solver.lossHistory.length === 10, `a refused nested train() still ran steps: iteration ${solver.iteration}, ${solver.lossHistory.length} losses`);
        solver.dispose();
        model.dispose();
      }
      // A sync hook (here returning push's number, as a JS caller's may) works as before: stop() in it stops at once.
      const model = smallNet(engine);
      const seen: number[] = [];
      const solver: Solver = new Solver(model, data, {
        ...options,
        onProgress: (p) => {
          if (p.iteration === 4) solver.stop();
          return seen.push(p.iteration);
        },
      });
      await solver.train();
      expectTrue(solver.iteration === 4 && seen.join() === '1,2,3,4', `a sync hook: stopped at iteration ${solver.iteration}, reports ${seen}`);
      await solver.train();
      expectTrue(solver.finished && seen.join() === '1,2,3,4,5,6,7,8,9,10', `a sync hook: resumed to ${solver.iteration}, reports ${seen}`);
      solver.dispose();
      model.dispose();
    },
  },
  {
    name: 'solver: a checkpoint (safetensors) resumes training exactly where it stopped; a mismatched one changes nothing',
    timeout: 300_000,
    async run(engine) {
      const { X, y } = await sample(engine, 120);
      const options: SolverOptions = { ...quiet, updateRule: 'adam', optimConfig: { learningRate: 1e-3 }, batchSize: 30, numTrainSamples: 60, seed: 5 };
      const data = { XTrain: X, yTrain: y, XVal: X, yVal: y };
      // Straight through: 2 epochs.
      const m1 = smallNet(engine, { batchnorm: true, dropout: 0.2 });
      const s1 = new Solver(m1, data, { ...options, numEpochs: 2 });
      await s1.train();
      // One epoch, checkpoint, then a fresh model and solver resume for the second.
      const m2 = smallNet(engine, { batchnorm: true, dropout: 0.2 });
      const s2 = new Solver(m2, data, { ...options, numEpochs: 1 });
      await s2.train();
      // The caller's metadata (the page writes its dataset) is kept beside the Solver's, never over it.
      const bytes = await s2.saveCheckpoint({ metadata: { dataset: 'fashion', note: 'resume me' } });
      const meta = checkpoint.decodeSafetensors(bytes).metadata;
      expectTrue(meta.dataset === 'fashion' && meta.note === 'resume me' && meta.format === 'shadergrad-solver-1', `caller metadata kept: ${JSON.stringify(meta.dataset)}`);
      await expectThrows(() => s2.saveCheckpoint({ metadata: { epoch: '9', format: 'x' } }), /saveCheckpoint: metadata epoch, format would replace the Solver's own/, 'metadata clash');
      // What the file holds, read without a GPU: the model, the schedule, where it stopped, and the caller's own fields apart.
      const info = Solver.checkpointInfo(bytes);
      const { lossHistory, trainAccHistory, valAccHistory, ...rest } = info;
      expectTrue(
        JSON.stringify(rest) ===
          JSON.stringify({
            model: { inputDim: 784, hiddenDims: [64, 32], numClasses: 10, batchnorm: true, dropout: 0.2, reg: 0 },
            updateRule: 'adam',
            optimConfig: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, t: 4 },
            epoch: 1,
            iteration: 4,
            bestValAcc: s2.bestValAcc,
            batchSize: 30,
            numEpochs: 1,
            lrDecay: 1,
            trainSamples: 120,
            metadata: { dataset: 'fashion', note: 'resume me' },
          }),
        `checkpointInfo: ${JSON.stringify(rest)}`,
      );
      expectTrue(lossHistory.join() === s2.lossHistory.join() && trainAccHistory.length === 2 && valAccHistory.length === 2, 'checkpointInfo histories');
      await expectThrows(() => Solver.checkpointInfo(bytes.slice(0, 100)), /^shadergrad: Solver\.checkpointInfo: not a safetensors file/, 'checkpointInfo of a truncated file');
      const m3 = smallNet(engine, { batchnorm: true, dropout: 0.2, seed: 99 });
      const s3 = new Solver(m3, data, { ...options, numEpochs: 2 });
      s3.loadCheckpoint(bytes);
      expectTrue(s3.epoch === 1 && s3.iteration === 4, `resumed at epoch ${s3.epoch}, iteration ${s3.iteration}`);
      await s3.train();
      expectTrue(s3.lossHistory.join() === s1.lossHistory.join(), `resumed losses equal the straight run's:\n${s3.lossHistory}\n${s1.lossHistory}`);
      const [w1, w3] = [await download(m1.params.W1!), await download(m3.params.W1!)];
      expectTrue(w1.every((v, i) => v === w3[i]), 'same final weights after resuming');
      // A checkpoint of another architecture is refused before anything is written.
      const other = smallNet(engine, { hiddenDims: [64, 16] });
      const s4 = new Solver(other, data, { ...options, numEpochs: 1 });
      const before = await download(other.params.W1!);
      await expectThrows(() => s4.loadCheckpoint(bytes), /the checkpoint does not match, nothing was loaded/, 'mismatched checkpoint');
      const after = await download(other.params.W1!);
      expectTrue(before.every((v, i) => v === after[i]), 'nothing was written');
      await expectThrows(() => s4.loadCheckpoint(bytes.slice(0, 100)), /shadergrad/, 'truncated checkpoint');
      // Other data whose epochs happen to count the same iterations (90 images: 3 per epoch, so iteration 4 is still
      // epoch 1) is refused by the training images the file records.
      const fewer = await sample(engine, 90);
      const s6 = new Solver(smallNet(engine, { batchnorm: true, dropout: 0.2 }), { XTrain: fewer.X, yTrain: fewer.y, XVal: X, yVal: y }, { ...options, numEpochs: 2 });
      await expectThrows(() => s6.loadCheckpoint(bytes), /Solver\.loadCheckpoint: the checkpoint was trained on 120 training images, this Solver has 90/, 'other data');
      expectTrue(s6.iteration === 0 && s6.epoch === 0, 'other data: nothing loaded');
      s6.dispose();
      s6.model.dispose();
      fewer.X.dispose();
      fewer.y.dispose();
      // Bad metadata in a file that otherwise fits: refused before a tensor or a counter changes.
      const decoded = checkpoint.decodeSafetensors(bytes);
      const withMeta = (changes: Record<string, string>) =>
        checkpoint.encodeSafetensors(
          Object.fromEntries(Object.entries(decoded.tensors).map(([name, t]) => [name, { data: t.data as Float32Array | Int32Array, shape: t.shape }])),
          { ...decoded.metadata, ...changes },
        );
      const m5 = smallNet(engine, { batchnorm: true, dropout: 0.2, seed: 7 });
      const s5 = new Solver(m5, data, { ...options, numEpochs: 2 });
      const w5 = await download(m5.params.W1!);
      for (const [changes, pattern] of [
        [{ rng: '[0,0,0,0]' }, /Solver.loadCheckpoint: metadata rng: Random.setState: expected four 32-bit unsigned integers/],
        [{ lossHistory: 'oops' }, /Solver.loadCheckpoint: metadata lossHistory is not JSON/],
        [{ iteration: '-3' }, /Solver.loadCheckpoint: metadata iteration must be a non-negative integer, got -3/],
        [{ model: '{"inputDim":784,"hiddenDims":[64,32]}' }, /Solver.loadCheckpoint: metadata model numClasses must be a positive integer/],
        [{ updateRule: 'nesterov' }, /Solver.loadCheckpoint: metadata updateRule names no update rule shadergrad knows: nesterov/],
        [{ trainSamples: 'many' }, /Solver.loadCheckpoint: metadata trainSamples must be a positive integer, got many/],
        [{ optimConfig: '{"learningRate":"fast"}' }, /Solver.loadCheckpoint: metadata optimConfig must hold finite numbers, got learningRate "fast"/],
      ] as const) {
        await expectThrows(() => s5.loadCheckpoint(withMeta(changes)), pattern, `bad metadata ${JSON.stringify(changes)}`);
        const now = await download(m5.params.W1!);
        expectTrue(now.every((v, i) => v === w5[i]) && s5.iteration === 0 && s5.epoch === 0, `bad metadata ${JSON.stringify(changes)} changed the solver`);
      }
      // A parameter holding NaN (a corrupted file): refused, nothing loaded.
      const poisoned = decoded.tensors.W1!.data.slice() as Float32Array;
      poisoned[17] = Number.NaN;
      const withNaN = checkpoint.encodeSafetensors(
        Object.fromEntries(Object.entries(decoded.tensors).map(([name, t]) => [name, { data: (name === 'W1' ? poisoned : t.data) as Float32Array | Int32Array, shape: t.shape }])),
        decoded.metadata,
      );
      await expectThrows(() => s5.loadCheckpoint(withNaN), /Solver\.loadCheckpoint: the checkpoint's W1 holds NaN at index 17: a model cannot go on from it/, 'NaN parameter');
      expectTrue(s5.iteration === 0 && (await download(m5.params.W1!)).every((v, i) => v === w5[i]), 'a NaN parameter changed the solver');
      // Infinity is refused as NaN is (a diverged run's parameters).
      poisoned[17] = Number.POSITIVE_INFINITY;
      const withInf = checkpoint.encodeSafetensors(
        Object.fromEntries(Object.entries(decoded.tensors).map(([name, t]) => [name, { data: (name === 'W1' ? poisoned : t.data) as Float32Array | Int32Array, shape: t.shape }])),
        decoded.metadata,
      );
      await expectThrows(() => s5.loadCheckpoint(withInf), /Solver\.loadCheckpoint: the checkpoint's W1 holds Infinity at index 17: a model cannot go on from it/, 'infinite parameter');
      // An epoch that does not match the iteration (4 iterations per epoch here: iteration 4 is epoch 1) is refused.
      await expectThrows(() => s5.loadCheckpoint(withMeta({ epoch: '2' })), /Solver\.loadCheckpoint: the checkpoint is at epoch 2, iteration 4, but this Solver has 4 iterations per epoch/, 'epoch vs iteration');
      expectTrue(s5.iteration === 0 && s5.epoch === 0 && (await download(m5.params.W1!)).every((v, i) => v === w5[i]), 'a refused checkpoint changed the solver');
      // Another update rule or batch size than the file's: refused by name, nothing loaded.
      for (const [changed, pattern] of [
        [{ updateRule: 'sgd' as const }, /Solver\.loadCheckpoint: the checkpoint was written with update rule adam, this Solver uses sgd/],
        [{ batchSize: 40 }, /Solver\.loadCheckpoint: the checkpoint was written with batch size 30, this Solver uses 40/],
      ] as const) {
        const mOther = smallNet(engine, { batchnorm: true, dropout: 0.2, seed: 7 });
        const sOther = new Solver(mOther, data, { ...options, numEpochs: 2, ...changed });
        const wOther = await download(mOther.params.W1!);
        await expectThrows(() => sOther.loadCheckpoint(bytes), pattern, JSON.stringify(changed));
        expectTrue(sOther.iteration === 0 && (await download(mOther.params.W1!)).every((v, i) => v === wOther[i]), `${JSON.stringify(changed)}: nothing loaded`);
        sOther.dispose();
        mOther.dispose();
      }
      // The resumed solver took the file's best validation accuracy (not its own, 0).
      expectTrue(Solver.checkpointInfo(bytes).bestValAcc === s2.bestValAcc && s2.bestValAcc > 0, `s2.bestValAcc ${s2.bestValAcc}`);
      const m7 = smallNet(engine, { batchnorm: true, dropout: 0.2, seed: 3 });
      const s7 = new Solver(m7, data, { ...options, numEpochs: 2 });
      s7.loadCheckpoint(bytes);
      expectTrue(s7.bestValAcc === s2.bestValAcc, `bestValAcc after loading: ${s7.bestValAcc}, the file's: ${s2.bestValAcc}`);
      s7.dispose();
      m7.dispose();
      s5.dispose();
      m5.dispose();
      for (const [s, m] of [[s1, m1], [s2, m2], [s3, m3], [s4, other]] as const) {
        s.dispose();
        m.dispose();
      }
    },
  },
];
