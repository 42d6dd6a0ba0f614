// `shadergrad train`: trains a FullyConnectedNet on Fashion-MNIST and writes a checkpoint, history and plot.

import { parseArgs } from 'node:util';
import { existsSync, rmSync, rmdirSync } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Engine, FullyConnectedNet, Solver, datasets, checkpoint, optim, type CheckpointInfo, type Progress, type UpdateRuleName } from '../index';
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
model.safetensors (after every epoch), history.json and training.svg into --out. The last line
printed is a JSON summary: {"testAcc", "valAcc", "trainAcc", "epochs", "seconds", "samplesPerSec",
"adapter"} (the accuracies of one set of parameters: the best once finished, the last when
stopped). Ctrl-C stops after the current iteration and writes the three files (exit 130); a
second Ctrl-C quits at once. Bad flags exit 2 before anything is trained.

Options:
  --data DIR        the four Fashion-MNIST files (.gz or not), or 'sample' for the subset
                    shipped with shadergrad (6,000 train, of which 600 held out for
                    validation, + 1,000 test: a quick run). Default:
                    Debian's /usr/share/datasets/fashion-mnist, else the npm run data cache,
                    else the sample
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
  --limit N         use only the first N training images (at least 10)
  --seed N          seed for initialization, minibatches and dropout, 0..2^32-1 (default ${DEFAULTS.seed})
  --resume FILE     continue from a checkpoint written by an earlier run (its model.safetensors,
                    rewritten after every epoch): its model, update rule and batch size are used;
                    --dropout, --reg and --lr-decay may change, --epochs may extend the schedule
  --out DIR         output directory, checked before training (default ./shadergrad-run)
  --quiet           no progress bar
  -h, --help        this help
`;

interface TrainSummary {
  testAcc: number;
  valAcc: number;
  trainAcc: number;
  epochs: number;
  seconds: number;
  samplesPerSec: number;
  adapter: string;
}

/** A decimal number as a person writes one (1, 0.5, 2e-3): not '', '0x10', 'Infinity' or '1_000'. */
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/** What f32 holds as a normal number: larger ones become Infinity on the GPU, smaller ones 0. */
const f32Normal = (v: number) => Math.abs(v) >= 2 ** -126 && Math.abs(v) <= 3.4028234663852886e38;

function number(name: string, text: string | undefined, fallback: number, check: (v: number) => boolean = Number.isFinite): number {
  if (text === undefined) return fallback;
  const v = DECIMAL.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(v) || !check(v)) throw new UsageError(`--${name} ${JSON.stringify(text)} is not valid`);
  return v;
}

export class UsageError extends Error {}

/** The update rules the library has, by name. */
const UPDATE_RULES = Object.keys(optim.updateRules) as UpdateRuleName[];

/** Writes files under temporary names (each synced to disk), then renames them all into place (none is left half-written or out of step). */
async function writeAllAtomic(files: Array<[path: string, data: string | Uint8Array]>): Promise<void> {
  const tmps = files.map(([path]) => `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  let current = '';
  try {
    for (const [i, [path, data]] of files.entries()) {
      current = path;
      // Synced before the rename: after a crash the name holds the old file or the whole new one.
      const handle = await open(tmps[i]!, 'wx');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    // A directory where a file goes would stop the renames half-way: checked for all of them first.
    for (const [path] of files) {
      current = path;
      if ((await stat(path).catch(() => null))?.isDirectory()) throw Object.assign(new Error('a directory is in the way'), { code: 'EISDIR' });
    }
    for (const [i, [path]] of files.entries()) {
      current = path;
      await rename(tmps[i]!, path);
    }
  } catch (error) {
    await Promise.all(tmps.map((tmp) => rm(tmp, { force: true })));
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`cannot write ${current}: ${code ?? ''}${code ? ' ' : ''}${(error as Error).message.replace(/^\w+: /, '')}`, { cause: error });
  }
}

/** The empty file prepareOut writes and removes to see that --out takes files. */
const probeIn = (out: string) => join(out, `.shadergrad-probe-${process.pid}`);

/** Makes the output directory and checks it takes files, before anything is trained. */
async function prepareOut(out: string): Promise<void> {
  try {
    await mkdir(out, { recursive: true });
    const probe = probeIn(out);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    throw new UsageError(`--out ${out}: cannot write there (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** What a checkpoint to resume from was trained with (its metadata), or a UsageError naming the file. */
function resumeInfo(path: string, bytes: Uint8Array): CheckpointInfo {
  try {
    return Solver.checkpointInfo(bytes);
  } catch (error) {
    throw new UsageError(`--resume ${path}: ${(error as Error).message.replace(/^shadergrad: Solver\.checkpointInfo: /, '')}`);
  }
}

/**
 * `~` or `~/…` at the start of a path flag is the home directory, as the shell would have made it:
 * the shell leaves `--data=~/fmnist` alone (a tilde after `=` is not expanded).
 */
function expandHome(path: string): string;
function expandHome(path: string | undefined): string | undefined;
function expandHome(path: string | undefined): string | undefined {
  if (path === '~') return homedir();
  return path?.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

export async function train(argv: string[]): Promise<number> {
  const { values: parsed, tokens } = parseArgs({
    args: argv,
    tokens: true,
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
  const values = { ...parsed, data: expandHome(parsed.data), out: expandHome(parsed.out), resume: expandHome(parsed.resume) };
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // A flag given twice would silently take its last value; an empty one (`--out=`, `--resume "$UNSET"`) its default.
  const given = tokens.filter((t) => t.kind === 'option').map((t) => t.name);
  const twice = [...new Set(given.filter((name, i) => given.indexOf(name) !== i))];
  if (twice.length) throw new UsageError(`${twice.map((name) => `--${name}`).join(', ')} given more than once`);
  for (const name of ['data', 'update', 'resume', 'out'] as const) {
    if (values[name] !== undefined && values[name]!.trim() === '') throw new UsageError(`--${name} needs a value (it was given empty)`);
  }
  // ---- every flag checked before the GPU or the data are touched ----
  if (values.batchnorm && values['no-batchnorm']) throw new UsageError('--batchnorm and --no-batchnorm contradict each other');
  const positive = (v: number) => Number.isInteger(v) && v > 0;
  const hiddenText = values.hidden ?? DEFAULTS.hidden;
  const hidden = hiddenText.split(',').map((h) => {
    const v = h.trim() === '' || !/^\d+$/.test(h.trim()) ? NaN : Number(h);
    if (!(positive(v) && v <= 65536)) throw new UsageError(`--hidden ${JSON.stringify(hiddenText)} is not valid: a comma-separated list of layer sizes in 1..65536`);
    return v;
  });
  const update = (values.update ?? DEFAULTS.update) as UpdateRuleName;
  if (!UPDATE_RULES.includes(update)) throw new UsageError(`--update ${values.update} is not one of ${UPDATE_RULES.join(', ')}`);
  let batchnorm: boolean = values['no-batchnorm'] ? false : (values.batchnorm ?? DEFAULTS.batchnorm);
  let dropout = number('dropout', values.dropout, DEFAULTS.dropout, (v) => v >= 0 && v < 1);
  const lr = number('lr', values.lr, DEFAULTS.lr, (v) => v > 0 && f32Normal(v));
  let lrDecay = number('lr-decay', values['lr-decay'], DEFAULTS.lrDecay, (v) => v > 0 && v <= 1e6);
  let reg = number('reg', values.reg, DEFAULTS.reg, (v) => v === 0 || (v > 0 && f32Normal(v)));
  let epochs = number('epochs', values.epochs, DEFAULTS.epochs, positive);
  let batch = number('batch', values.batch, DEFAULTS.batch, positive);
  const valWanted = number('val', values.val, DEFAULTS.val, (v) => Number.isInteger(v) && v >= 1);
  const limit = values.limit === undefined ? undefined : number('limit', values.limit, 0, (v) => Number.isInteger(v) && v >= 10);
  const seed = number('seed', values.seed, DEFAULTS.seed, (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32);
  const out = resolve(values.out ?? 'shadergrad-run');
  let hiddenDims = hidden;
  let updateRule = update;

  // --resume: the model and schedule come from the checkpoint; flags may not contradict them.
  let resumeBytes: Uint8Array | null = null;
  let resumed: CheckpointInfo | null = null;
  if (values.resume) {
    try {
      resumeBytes = await checkpoint.readCheckpointFile(values.resume);
    } catch (error) {
      throw new UsageError(`--resume ${values.resume}: ${(error as Error).message.replace(/^shadergrad: (readCheckpointFile: )?/, '')}`);
    }
    const info = resumeInfo(values.resume, resumeBytes);
    resumed = info;
    const infoBatch = info.batchSize ?? DEFAULTS.batch;
    const conflicts = [
      values.hidden !== undefined && hidden.join() !== info.model.hiddenDims.join() && `--hidden ${hidden.join()} (the checkpoint has ${info.model.hiddenDims.join()})`,
      (values.batchnorm || values['no-batchnorm']) && batchnorm !== info.model.batchnorm && `--${batchnorm ? '' : 'no-'}batchnorm (the checkpoint has ${info.model.batchnorm ? '' : 'no '}batchnorm)`,
      values.update !== undefined && update !== info.updateRule && `--update ${update} (the checkpoint has ${info.updateRule})`,
      values.batch !== undefined && batch !== infoBatch && `--batch ${batch} (the checkpoint has ${infoBatch})`,
      values.lr !== undefined && '--lr (the checkpoint carries its optimizer state and current learning rate)',
      values.seed !== undefined && "--seed (the checkpoint carries its random generators' states)",
    ].filter(Boolean);
    if (conflicts.length) throw new UsageError(`--resume ${values.resume}: these flags contradict the checkpoint: ${conflicts.join('; ')}`);
    hiddenDims = info.model.hiddenDims;
    batchnorm = info.model.batchnorm;
    updateRule = info.updateRule;
    batch = infoBatch;
    if (values.dropout === undefined) dropout = info.model.dropout;
    if (values.reg === undefined) reg = info.model.reg;
    if (values['lr-decay'] === undefined) lrDecay = info.lrDecay ?? DEFAULTS.lrDecay;
    if (values.epochs === undefined) epochs = info.numEpochs ?? DEFAULTS.epochs;
    // A finished schedule would train nothing and exit 0: say how to go on instead.
    if (info.epoch >= epochs) {
      throw new UsageError(
        values.epochs === undefined
          ? `--resume ${values.resume}: the checkpoint finished its ${epochs} epochs; --epochs N (N > ${info.epoch}) trains it further`
          : `--epochs ${epochs}: the checkpoint has already trained ${info.epoch} epochs; give more to train it further`,
      );
    }
  }
  // Ctrl-C before training (while --out is made or the data loads): nothing was trained or written,
  // so an --out this run made is not left behind, empty. Set before the directory exists.
  const madeOut = !existsSync(out);
  const interruptedEarly = () => {
    if (madeOut) rmdirQuietly(out);
    process.exit(130);
  };
  process.once('SIGINT', interruptedEarly);
  try {
    await prepareOut(out);
    const bar = new ProgressBar(process.stderr);
    // Results go to stdout (the bar, on stderr, is cleared first); the JSON summary is stdout's last line.
    const say = (line: string) => bar.log(line, process.stdout);
    const started = performance.now();
    const source = values.data;
    // One split after the other, so a missing or bad file is always reported for the training set first.
    const trainHost = await datasets.loadFashionMnist({ split: 'train', source, limit });
    const testHost = await datasets.loadFashionMnist({ split: 'test', source });
    const D = trainHost.rows * trainHost.cols;
    const nVal = Math.min(valWanted, Math.floor(trainHost.count / 10));
    const nTrain = trainHost.count - nVal;
    if (nVal < valWanted && values.val !== undefined) say(`--val ${valWanted}: at most 10% of the ${trainHost.count} training images are held out: ${nVal}`);
    if (limit !== undefined && trainHost.count < limit) say(`--limit ${limit}: the training set has ${trainHost.count} images, all used`);
    if (testHost.rows * testHost.cols !== D) {
      throw new Error(`the test images are ${testHost.rows}×${testHost.cols} but the training images ${trainHost.rows}×${trainHost.cols} (${testHost.source}): not one dataset`);
    }
    // Minibatches are drawn with replacement, but one larger than the data is a mistyped flag (and may not fit the GPU).
    if (batch > nTrain) throw new UsageError(`--batch ${batch}: more than the ${nTrain} training images`);
    // A checkpoint counts its epochs in this many training images: other data would resume a wrong schedule.
    const resumedData = resumed?.metadata.data === undefined ? '' : ` (${resumed.metadata.data})`;
    if (resumed?.trainSamples != null && resumed.trainSamples !== nTrain) {
      throw new UsageError(`--resume ${values.resume}: the checkpoint was trained on ${resumed.trainSamples} training images${resumedData}, this run has ${nTrain} (${trainHost.source}): use the same --data, --limit and --val`);
    }

    const engine = await Engine.create();
    const adapter = [engine.adapterInfo.vendor, engine.adapterInfo.architecture, engine.adapterInfo.description].filter(Boolean).join(' ');
    // Ctrl-C: the first stops after the current iteration and writes what was trained; a second quits at once.
    let interrupted = false;
    let solverRef: Solver | null = null;
    const onSigint = () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      bar.done();
      process.stderr.write('shadergrad: stopping after this iteration and writing the results (Ctrl-C again to quit at once)\n');
      solverRef?.stop();
    };
    process.off('SIGINT', interruptedEarly);
    process.on('SIGINT', onSigint);
    try {
      say(`data: ${trainHost.source} — ${nTrain} train, ${nVal} val, ${testHost.count} test images; adapter: ${adapter}`);
      const labels = (bytes: Uint8Array) => engine.tensor(Int32Array.from(bytes));
      const XTrain = engine.tensorUnorm8(trainHost.images.subarray(0, nTrain * D), [nTrain, D]);
      const yTrain = labels(trainHost.labels.subarray(0, nTrain));
      const XVal = engine.tensorUnorm8(trainHost.images.subarray(nTrain * D), [nVal, D]);
      const yVal = labels(trainHost.labels.subarray(nTrain));
      const XTest = engine.tensorUnorm8(testHost.images, [testHost.count, D]);
      const yTest = labels(testHost.labels);

      const model = new FullyConnectedNet(engine, {
        hiddenDims,
        inputDim: D,
        numClasses: 10,
        batchnorm,
        dropout,
        reg,
        // He initialisation: keeps activations at unit scale through ReLU layers.
        weightScale: Math.sqrt(2 / D),
        seed,
      });
      let epochEnded = false;
      const solver = new Solver(
        model,
        { XTrain, yTrain, XVal, yVal },
        {
          updateRule,
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
            if (!values.quiet && !interrupted) {
              bar.update({
                fraction: p.iteration / p.numIterations,
                text: `epoch ${Math.min(p.epoch + 1, p.numEpochs)}/${p.numEpochs}  loss ${p.loss.toFixed(4)}  ${Math.round(p.samplesPerSec)} samples/s`,
              });
            }
            if (p.valAcc !== undefined) {
              const label = p.iteration === 1 && p.epoch === 0 ? 'start' : `epoch ${p.epoch}/${p.numEpochs}`;
              say(`${label}: loss ${p.loss.toFixed(4)}, train acc ${p.trainAcc!.toFixed(4)}, val acc ${p.valAcc.toFixed(4)}`);
              // Stop at each epoch's end: its checkpoint is written before the next one starts.
              if (p.iteration % solver.iterationsPerEpoch === 0 && p.iteration < p.numIterations) {
                epochEnded = true;
                solver.stop();
              }
            }
          },
        },
      );
      solverRef = solver;
      if (resumeBytes) {
        solver.loadCheckpoint(resumeBytes);
        say(`resumed from ${values.resume} at epoch ${solver.epoch}, iteration ${solver.iteration}`);
      }
      // The learning rate this run starts from: --lr, or the resumed checkpoint's (already decayed).
      const startLr = typeof solver.optimConfig.learningRate === 'number' ? solver.optimConfig.learningRate : lr;
      const checkpointPath = join(out, 'model.safetensors');
      // Where its data came from, for a person (and a --resume) to find again.
      const dataMeta = { data: trainHost.source };
      const trainStart = performance.now();
      const iterationsBefore = solver.iteration;
      let failure: Error | null = null;
      try {
        // Epoch by epoch: after each one its checkpoint is on disk (--resume continues a killed run).
        while (!solver.finished && !interrupted) {
          epochEnded = false;
          await solver.train();
          if (epochEnded && !interrupted) await writeAllAtomic([[checkpointPath, await solver.saveCheckpoint({ metadata: dataMeta })]]);
        }
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
      bar.done();
      const trainSeconds = (performance.now() - trainStart) / 1000;
      const samplesPerSec = trainSeconds > 0 ? ((solver.iteration - iterationsBefore) * batch) / trainSeconds : 0;
      // The checkpoint first: the train-accuracy sample below draws from the Solver's generator, whose
      // state the checkpoint keeps for a --resume to continue the same minibatches.
      const finalCheckpoint = await solver.saveCheckpoint({ metadata: dataMeta });
      // A finished (or failed) Solver put its best parameters into the model: score them, all three
      // accuracies on the same parameters. A stopped one holds its last.
      const testAcc = await solver.checkAccuracy(XTest, yTest, { batchSize: 1000 });
      const valAcc = await solver.checkAccuracy(XVal, yVal, { batchSize: 1000 });
      const trainAcc = await solver.checkAccuracy(XTrain, yTrain, { numSamples: 5000, batchSize: 1000 });
      const summary: TrainSummary = {
        testAcc,
        valAcc,
        trainAcc,
        epochs: solver.epoch,
        seconds: (performance.now() - started) / 1000,
        samplesPerSec,
        adapter,
      };
      // A resumed run's seed is the checkpoint's generators' state, not --seed.
      const config = { hidden: hiddenDims, batchnorm, dropout, update: updateRule, lr: startLr, lrDecay, reg, epochs, batch, seed: resumed ? null : seed, data: trainHost.source, nTrain, nVal, resume: values.resume ?? null };
      const history = {
        config,
        lossHistory: solver.lossHistory,
        trainAccHistory: solver.trainAccHistory,
        valAccHistory: solver.valAccHistory,
        bestValAcc: solver.bestValAcc,
        ...summary,
        ...(interrupted ? { interrupted: `stopped by Ctrl-C at iteration ${solver.iteration} of ${solver.numIterations}` } : {}),
        ...(failure ? { error: failure.message } : {}),
      };
      const title = `${[D, ...hiddenDims, 10].join('-')}${batchnorm ? ' batchnorm' : ''}${dropout ? ` dropout ${dropout}` : ''}, ${updateRule} lr ${Number(startLr.toPrecision(4))}: test acc ${testAcc.toFixed(4)}`;
      let writeFailure: Error | null = null;
      try {
        await writeAllAtomic([
          [checkpointPath, finalCheckpoint],
          [join(out, 'history.json'), `${JSON.stringify(history, null, 1)}\n`],
          [join(out, 'training.svg'), trainingPlotSvg({ ...solver, title })],
        ]);
        say(`test accuracy ${testAcc.toFixed(4)} (best val ${solver.bestValAcc.toFixed(4)}); wrote ${out}/{model.safetensors,history.json,training.svg}`);
      } catch (error) {
        // The results are still reported (the summary below); the files in --out are as they were.
        writeFailure = error as Error;
        say(`test accuracy ${testAcc.toFixed(4)} (best val ${solver.bestValAcc.toFixed(4)}); the results were NOT written`);
      }
      if (interrupted && !writeFailure) process.stderr.write(`shadergrad: stopped at iteration ${solver.iteration} of ${solver.numIterations}; --resume ${checkpointPath} continues\n`);
      if (failure) process.stderr.write(`${failure.message}\n`);
      if (writeFailure) process.stderr.write(`shadergrad: ${writeFailure.message}\n`);
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return failure || writeFailure ? 1 : interrupted ? 130 : 0;
    } finally {
      process.off('SIGINT', onSigint);
      engine.destroy();
    }
  } catch (error) {
    // Nothing was written (the data did not load, a flag did not fit it): no empty --out is left behind.
    if (madeOut) rmdirQuietly(out);
    throw error;
  } finally {
    process.off('SIGINT', interruptedEarly);
  }
}

/** Removes an --out this run made if nothing but prepareOut's probe is in it (rmdir refuses one that holds more). */
function rmdirQuietly(dir: string): void {
  try {
    rmSync(probeIn(dir), { force: true });
    rmdirSync(dir);
  } catch {
    // not empty, or gone: leave it
  }
}
