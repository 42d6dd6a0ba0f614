// `shadergrad train`: trains a FullyConnectedNet on Fashion-MNIST and writes a checkpoint, history and plot.

import { parseArgs } from 'node:util';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Engine, FullyConnectedNet, Solver, datasets, checkpoint, type Progress, type UpdateRuleName } from '../index';
import { ProgressBar } from './progress';
import { trainingPlotSvg } from './plot';

/**
 * The default recipe: what `shadergrad train --data DIR` alone runs. Chosen on an H200 among eight
 * candidates (bench/gpu/recipes.sh): 784-512-256-10 with batchnorm, dropout 0.3, Adam 2e-3 decayed
 * 0.85 per epoch, batch 128, 15 epochs reached 0.900 test accuracy; the README has its SwiftShader run.
 */
export const DEFAULTS = {
  hidden: '512,256',
  batchnorm: true,
  dropout: 0.3,
  update: 'adam',
  lr: 2e-3,
  lrDecay: 0.85,
  reg: 0,
  epochs: 15,
  batch: 128,
  val: 5000,
  seed: 1,
} as const;

const HELP = `Usage: shadergrad train [options]

Trains a fully-connected network on Fashion-MNIST on the GPU (WebGPU through Dawn) and writes
model.safetensors, history.json and training.svg into --out. The last line printed is a JSON
summary: {"testAcc", "valAcc", "trainAcc", "epochs", "seconds", "samplesPerSec", "adapter"}.

Options:
  --data DIR        the four Fashion-MNIST files (.gz or not). Default: Debian's
                    /usr/share/datasets/fashion-mnist, else the npm run data cache, else the
                    sample shipped with shadergrad
  --hidden LIST     hidden layer sizes                      (default ${DEFAULTS.hidden})
  --batchnorm       batch normalization after each hidden affine layer (default on)
  --no-batchnorm    without it
  --dropout P       probability of dropping a hidden unit   (default ${DEFAULTS.dropout})
  --update RULE     sgd | sgdMomentum | sgdNesterovMomentum | rmsprop | adam (default ${DEFAULTS.update})
  --lr RATE         learning rate                           (default ${DEFAULTS.lr})
  --lr-decay F      learning rate factor after each epoch   (default ${DEFAULTS.lrDecay})
  --reg R           L2 regularization strength              (default ${DEFAULTS.reg})
  --epochs N        epochs                                  (default ${DEFAULTS.epochs})
  --batch N         minibatch size                          (default ${DEFAULTS.batch})
  --val N           training images held out for validation (default ${DEFAULTS.val}, at most 10%)
  --limit N         use only the first N training images
  --seed N          seed for initialization, minibatches and dropout (default ${DEFAULTS.seed})
  --resume FILE     continue from a checkpoint written by an earlier run (model.safetensors)
  --out DIR         output directory                        (default ./shadergrad-run)
  --quiet           no progress bar
  -h, --help        this help
`;

export interface TrainSummary {
  testAcc: number;
  valAcc: number;
  trainAcc: number;
  epochs: number;
  seconds: number;
  samplesPerSec: number;
  adapter: string;
}

function number(name: string, text: string | undefined, fallback: number, check: (v: number) => boolean = Number.isFinite): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!check(v)) throw new UsageError(`--${name} ${text} is not valid`);
  return v;
}

export class UsageError extends Error {}

/** Writes a file under a temporary name, then renames it into place. */
async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function train(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      hidden: { type: 'string' },
      batchnorm: { type: 'boolean' },
      'no-batchnorm': { type: 'boolean' },
      dropout: { type: 'string' },
      update: { type: 'string' },
      lr: { type: 'string' },
      'lr-decay': { type: 'string' },
      reg: { type: 'string' },
      epochs: { type: 'string' },
      batch: { type: 'string' },
      val: { type: 'string' },
      limit: { type: 'string' },
      seed: { type: 'string' },
      resume: { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const positive = (v: number) => Number.isInteger(v) && v > 0;
  const hidden = (values.hidden ?? DEFAULTS.hidden).split(',').map((h) => number('hidden', h.trim(), NaN, positive));
  const batchnorm = values['no-batchnorm'] ? false : (values.batchnorm ?? DEFAULTS.batchnorm);
  const dropout = number('dropout', values.dropout, DEFAULTS.dropout, (v) => v >= 0 && v < 1);
  const update = (values.update ?? DEFAULTS.update) as UpdateRuleName;
  const lr = number('lr', values.lr, DEFAULTS.lr, (v) => v > 0);
  const lrDecay = number('lr-decay', values['lr-decay'], DEFAULTS.lrDecay, (v) => v > 0);
  const reg = number('reg', values.reg, DEFAULTS.reg, (v) => v >= 0);
  const epochs = number('epochs', values.epochs, DEFAULTS.epochs, positive);
  const batch = number('batch', values.batch, DEFAULTS.batch, positive);
  const valWanted = number('val', values.val, DEFAULTS.val, (v) => Number.isInteger(v) && v >= 1);
  const limit = values.limit === undefined ? undefined : number('limit', values.limit, 0, positive);
  const seed = number('seed', values.seed, DEFAULTS.seed, Number.isInteger);
  const out = resolve(values.out ?? 'shadergrad-run');
  const bar = new ProgressBar(process.stderr);
  // Results go to stdout (the bar, on stderr, is cleared first); the JSON summary is stdout's last line.
  const say = (line: string) => bar.log(line, process.stdout);

  const started = performance.now();
  const engine = await Engine.create();
  const adapter = [engine.adapterInfo.vendor, engine.adapterInfo.architecture, engine.adapterInfo.description].filter(Boolean).join(' ');
  try {
    const source = values.data;
    // One split after the other, so a missing or bad file is always reported for the training set first.
    const trainHost = await datasets.loadFashionMnist({ split: 'train', source, limit });
    const testHost = await datasets.loadFashionMnist({ split: 'test', source });
    const D = trainHost.rows * trainHost.cols;
    const nVal = Math.min(valWanted, Math.floor(trainHost.count / 10));
    const nTrain = trainHost.count - nVal;
    say(`data: ${trainHost.source} — ${nTrain} train, ${nVal} val, ${testHost.count} test images; adapter: ${adapter}`);
    const labels = (bytes: Uint8Array) => engine.tensor(Int32Array.from(bytes));
    const XTrain = engine.tensorUnorm8(trainHost.images.subarray(0, nTrain * D), [nTrain, D]);
    const yTrain = labels(trainHost.labels.subarray(0, nTrain));
    const XVal = engine.tensorUnorm8(trainHost.images.subarray(nTrain * D), [nVal, D]);
    const yVal = labels(trainHost.labels.subarray(nTrain));
    const XTest = engine.tensorUnorm8(testHost.images, [testHost.count, D]);
    const yTest = labels(testHost.labels);

    const model = new FullyConnectedNet(engine, {
      hiddenDims: hidden,
      inputDim: D,
      numClasses: 10,
      batchnorm,
      dropout,
      reg,
      // He initialisation: keeps activations at unit scale through ReLU layers.
      weightScale: Math.sqrt(2 / D),
      seed,
    });
    const solver = new Solver(
      model,
      { XTrain, yTrain, XVal, yVal },
      {
        updateRule: update,
        optimConfig: { learningRate: lr },
        lrDecay,
        batchSize: batch,
        numEpochs: epochs,
        numTrainSamples: 5000,
        numValSamples: null,
        printEvery: 20,
        verbose: false,
        seed,
        onProgress: (p: Progress) => {
          if (!values.quiet) {
            bar.update({
              fraction: p.iteration / p.numIterations,
              text: `epoch ${Math.min(p.epoch + 1, p.numEpochs)}/${p.numEpochs}  loss ${p.loss.toFixed(4)}  ${Math.round(p.samplesPerSec)} samples/s`,
            });
          }
          if (p.valAcc !== undefined) {
            say(`epoch ${p.epoch}/${p.numEpochs}: loss ${p.loss.toFixed(4)}, train acc ${p.trainAcc!.toFixed(4)}, val acc ${p.valAcc.toFixed(4)}`);
          }
        },
      },
    );
    if (values.resume) {
      solver.loadCheckpoint(await checkpoint.readCheckpointFile(values.resume));
      say(`resumed from ${values.resume} at epoch ${solver.epoch}, iteration ${solver.iteration}`);
    }
    const trainStart = performance.now();
    const iterationsBefore = solver.iteration;
    let failure: Error | null = null;
    try {
      await solver.train();
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    bar.done();
    const trainSeconds = (performance.now() - trainStart) / 1000;
    const samplesPerSec = ((solver.iteration - iterationsBefore) * batch) / trainSeconds;
    // The solver restored the best parameters: score them.
    const testAcc = await solver.checkAccuracy(XTest, yTest, { batchSize: 1000 });
    const valAcc = await solver.checkAccuracy(XVal, yVal, { batchSize: 1000 });
    const trainAcc = solver.trainAccHistory.at(-1) ?? 0;
    await mkdir(out, { recursive: true });
    await writeAtomic(join(out, 'model.safetensors'), await solver.saveCheckpoint());
    const summary: TrainSummary = {
      testAcc,
      valAcc,
      trainAcc,
      epochs: solver.epoch,
      seconds: (performance.now() - started) / 1000,
      samplesPerSec,
      adapter,
    };
    const config = { hidden, batchnorm, dropout, update, lr, lrDecay, reg, epochs, batch, seed, data: trainHost.source, nTrain, nVal };
    const history = {
      config,
      lossHistory: solver.lossHistory,
      trainAccHistory: solver.trainAccHistory,
      valAccHistory: solver.valAccHistory,
      bestValAcc: solver.bestValAcc,
      ...summary,
      ...(failure ? { error: failure.message } : {}),
    };
    await writeAtomic(join(out, 'history.json'), `${JSON.stringify(history, null, 1)}\n`);
    await writeAtomic(
      join(out, 'training.svg'),
      trainingPlotSvg({ ...solver, title: `${[D, ...hidden, 10].join('-')}${batchnorm ? ' batchnorm' : ''}${dropout ? ` dropout ${dropout}` : ''}, ${update} lr ${lr}: test acc ${testAcc.toFixed(4)}` }),
    );
    say(`test accuracy ${testAcc.toFixed(4)} (best val ${solver.bestValAcc.toFixed(4)}); wrote ${out}/{model.safetensors,history.json,training.svg}`);
    if (failure) process.stderr.write(`${failure.message}\n`);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return failure ? 1 : 0;
  } finally {
    engine.destroy();
  }
}
