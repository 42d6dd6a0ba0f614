// `shadergrad train`: trains a FullyConnectedNet on Fashion-MNIST and writes a checkpoint, history and plot.

import { existsSync, rmSync, rmdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Engine, FullyConnectedNet, Solver, checkpoint, datasets, type Progress, type SolverOptions, type Tensor } from '../index';
import { HELP, UsageError, applyResume, checkFlags, parseFlags, type TrainConfig } from './args';
import { ProgressBar } from './progress';
import { trainingPlotSvg } from './plot';

interface TrainSummary {
  testAcc: number;
  valAcc: number;
  trainAcc: number;
  epochs: number;
  seconds: number;
  samplesPerSec: number;
  adapter: string;
}

/** The Solver reports (and reads its losses back) every this many iterations; a Ctrl-C lands at the next report. */
const REPORT_EVERY = 20;

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

/** The training and test sets as read from disk, and how the training set splits into train and validation. */
interface HostData {
  train: datasets.FashionMnistHost;
  test: datasets.FashionMnistHost;
  /** Pixels per image. */
  D: number;
  nTrain: number;
  nVal: number;
}

/** Reads the training and test sets and checks that the flags and --resume's checkpoint fit them (a UsageError where not). */
async function loadData(config: TrainConfig, say: (line: string) => void): Promise<HostData> {
  const { data: source, limit, valWanted, batch, resume } = config;
  // One split after the other, so a missing or bad file is always reported for the training set first.
  const train = await datasets.loadFashionMnist({ split: 'train', source, limit });
  const test = await datasets.loadFashionMnist({ split: 'test', source });
  const D = train.rows * train.cols;
  const nVal = Math.min(valWanted, Math.floor(train.count / 10));
  const nTrain = train.count - nVal;
  if (nVal < valWanted && config.valGiven) say(`--val ${valWanted}: at most 10% of the ${train.count} training images are held out: ${nVal}`);
  if (limit !== undefined && train.count < limit) say(`--limit ${limit}: the training set has ${train.count} images, all used`);
  if (test.rows * test.cols !== D) {
    throw new Error(`the test images are ${test.rows}×${test.cols} but the training images ${train.rows}×${train.cols} (${test.source}): not one dataset`);
  }
  // Minibatches are drawn with replacement, but one larger than the data is a mistyped flag (and may not fit the GPU).
  if (batch > nTrain) throw new UsageError(`--batch ${batch}: more than the ${nTrain} training images`);
  // A checkpoint counts its epochs in this many training images: other data would resume a wrong schedule.
  const resumed = resume?.info;
  const resumedData = resumed?.metadata.data === undefined ? '' : ` (${resumed.metadata.data})`;
  if (resumed?.trainSamples != null && resumed.trainSamples !== nTrain) {
    throw new UsageError(`--resume ${resume!.path}: the checkpoint was trained on ${resumed.trainSamples} training images${resumedData}, this run has ${nTrain} (${train.source}): use the same --data, --limit and --val`);
  }
  return { train, test, D, nTrain, nVal };
}

/** The data on the GPU: images as packed 8-bit values, labels as i32; validation is the training set's last nVal images. */
interface GpuData {
  XTrain: Tensor;
  yTrain: Tensor;
  XVal: Tensor;
  yVal: Tensor;
  XTest: Tensor;
  yTest: Tensor;
}

/** Uploads the data, the validation images split off the training set's end. */
function uploadData(engine: Engine, { train, test, D, nTrain, nVal }: HostData): GpuData {
  const labels = (bytes: Uint8Array) => engine.tensor(Int32Array.from(bytes));
  return {
    XTrain: engine.tensorUnorm8(train.images.subarray(0, nTrain * D), [nTrain, D]),
    yTrain: labels(train.labels.subarray(0, nTrain)),
    XVal: engine.tensorUnorm8(train.images.subarray(nTrain * D), [nVal, D]),
    yVal: labels(train.labels.subarray(nTrain)),
    XTest: engine.tensorUnorm8(test.images, [test.count, D]),
    yTest: labels(test.labels),
  };
}

/** The model the config describes and its Solver on the data (not yet resumed from --resume's checkpoint). */
function buildSolver(engine: Engine, config: TrainConfig, D: number, { XTrain, yTrain, XVal, yVal }: GpuData, onProgress: SolverOptions['onProgress']): Solver {
  const model = new FullyConnectedNet(engine, {
    hiddenDims: config.hiddenDims,
    inputDim: D,
    numClasses: 10,
    batchnorm: config.batchnorm,
    dropout: config.dropout,
    reg: config.reg,
    // He initialisation: keeps activations at unit scale through ReLU layers.
    weightScale: Math.sqrt(2 / D),
    seed: config.seed,
  });
  return new Solver(
    model,
    { XTrain, yTrain, XVal, yVal },
    {
      updateRule: config.updateRule,
      optimConfig: { learningRate: config.lr },
      lrDecay: config.lrDecay,
      batchSize: config.batch,
      numEpochs: config.epochs,
      numTrainSamples: 5000,
      numValSamples: null,
      printEvery: REPORT_EVERY,
      verbose: false,
      seed: config.seed,
      onProgress,
    },
  );
}

/** Where a run's lines go: the progress bar on stderr, and results on stdout (the bar cleared first). */
interface Terminal {
  bar: ProgressBar;
  say: (line: string) => void;
  /** --quiet: no bar. */
  quiet: boolean;
}

/** A Solver report on the terminal: the bar (until Ctrl-C), and a line at each accuracy check. */
function showProgress(p: Progress, { bar, say, quiet }: Terminal, interrupted: boolean): void {
  if (!quiet && !interrupted) {
    bar.update({
      fraction: p.iteration / p.numIterations,
      text: `epoch ${Math.min(p.epoch + 1, p.numEpochs)}/${p.numEpochs}  loss ${p.loss.toFixed(4)}  ${Math.round(p.samplesPerSec)} samples/s`,
    });
  }
  if (p.valAcc !== undefined) {
    const label = p.iteration === 1 && p.epoch === 0 ? 'start' : `epoch ${p.epoch}/${p.numEpochs}`;
    say(`${label}: loss ${p.loss.toFixed(4)}, train acc ${p.trainAcc!.toFixed(4)}, val acc ${p.valAcc.toFixed(4)}`);
  }
}

/** How training ended: the error that stopped it (a NaN loss, a checkpoint not written), if one did, and its pace. */
interface TrainOutcome {
  failure: Error | null;
  /** Training samples per second over this run's iterations (a resumed run's earlier ones not counted). */
  samplesPerSec: number;
}

/** Runs solver.train() to the end of the schedule, a Ctrl-C (solver.stop()) or an error, timing it. */
async function trainToEnd(solver: Solver): Promise<TrainOutcome> {
  const trainStart = performance.now();
  const iterationsBefore = solver.iteration;
  let failure: Error | null = null;
  try {
    await solver.train();
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
  }
  const trainSeconds = (performance.now() - trainStart) / 1000;
  const samplesPerSec = trainSeconds > 0 ? ((solver.iteration - iterationsBefore) * solver.batchSize) / trainSeconds : 0;
  return { failure, samplesPerSec };
}

/** What the results report besides the Solver's own state. */
interface ResultContext {
  config: TrainConfig;
  host: HostData;
  gpu: GpuData;
  adapter: string;
  /** performance.now() when the run began (before the data loaded): the summary's seconds count from here. */
  started: number;
  /** The learning rate this run started from: --lr, or the resumed checkpoint's (already decayed). */
  startLr: number;
  checkpointPath: string;
  /** The checkpoint's own metadata: where its data came from, for a person (and a --resume) to find again. */
  dataMeta: Record<string, string>;
  say: (line: string) => void;
  /** Whether Ctrl-C has stopped the run (it may come while the results are made). */
  interrupted: () => boolean;
}

/**
 * Scores the model on the three sets, writes the checkpoint, history.json and training.svg into --out
 * (all of them or none), and prints the JSON summary as stdout's last line. The exit code: 1 when
 * training or the writing failed, 130 when stopped by Ctrl-C, else 0.
 */
async function writeResults(solver: Solver, { failure, samplesPerSec }: TrainOutcome, context: ResultContext): Promise<number> {
  const { config, host, gpu, adapter, started, startLr, checkpointPath, dataMeta, say, interrupted } = context;
  const { out, hiddenDims, batchnorm, dropout, updateRule } = config;
  // The checkpoint first: the train-accuracy sample below draws from the Solver's generator, whose
  // state the checkpoint keeps for a --resume to continue the same minibatches.
  const finalCheckpoint = await solver.saveCheckpoint({ metadata: dataMeta });
  // A finished (or diverged) Solver put its best parameters into the model: score them, all three
  // accuracies on the same parameters. A stopped one (Ctrl-C, a failed epoch checkpoint) holds its last.
  const testAcc = await solver.checkAccuracy(gpu.XTest, gpu.yTest, { batchSize: 1000 });
  const valAcc = await solver.checkAccuracy(gpu.XVal, gpu.yVal, { batchSize: 1000 });
  const trainAcc = await solver.checkAccuracy(gpu.XTrain, gpu.yTrain, { numSamples: 5000, batchSize: 1000 });
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
  const historyConfig = {
    hidden: hiddenDims,
    batchnorm,
    dropout,
    update: updateRule,
    lr: startLr,
    lrDecay: config.lrDecay,
    reg: config.reg,
    epochs: config.epochs,
    batch: config.batch,
    seed: config.resume ? null : config.seed,
    data: host.train.source,
    nTrain: host.nTrain,
    nVal: host.nVal,
    resume: config.resume?.path ?? null,
  };
  const history = {
    config: historyConfig,
    lossHistory: solver.lossHistory,
    trainAccHistory: solver.trainAccHistory,
    valAccHistory: solver.valAccHistory,
    bestValAcc: solver.bestValAcc,
    ...summary,
    ...(interrupted() ? { interrupted: `stopped by Ctrl-C at iteration ${solver.iteration} of ${solver.numIterations}` } : {}),
    ...(failure ? { error: failure.message } : {}),
  };
  const title = `${[host.D, ...hiddenDims, 10].join('-')}${batchnorm ? ' batchnorm' : ''}${dropout ? ` dropout ${dropout}` : ''}, ${updateRule} lr ${Number(startLr.toPrecision(4))}: test acc ${testAcc.toFixed(4)}`;
  let writeFailure: Error | null = null;
  try {
    await checkpoint.writeFiles([
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
  if (interrupted() && !writeFailure) process.stderr.write(`shadergrad: stopped at iteration ${solver.iteration} of ${solver.numIterations}; --resume ${checkpointPath} continues\n`);
  if (failure) process.stderr.write(`${failure.message}\n`);
  if (writeFailure) process.stderr.write(`${writeFailure.message}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return failure || writeFailure ? 1 : interrupted() ? 130 : 0;
}

/** `shadergrad train ARGV`: resolves to the exit code; a bad flag throws a UsageError (main.ts exits 2). */
export async function train(argv: string[]): Promise<number> {
  const { values, given } = parseFlags(argv);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const config = await applyResume(checkFlags(values, given), values);
  const { out } = config;
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
    const terminal: Terminal = { bar, say: (line) => bar.log(line, process.stdout), quiet: config.quiet };
    const { say } = terminal;
    const started = performance.now();
    const host = await loadData(config, say);

    const engine = await Engine.create();
    const adapter = [engine.adapterInfo.vendor, engine.adapterInfo.architecture, engine.adapterInfo.description].filter(Boolean).join(' ');
    // Ctrl-C: the first stops at the Solver's next report and writes what was trained; a second quits at once.
    let interrupted = false;
    let solverRef: Solver | null = null;
    const onSigint = () => {
      if (interrupted) {
        // Quit at once, as Ctrl-C without a handler does: killed by the signal (the shell's 130),
        // without exit()'s teardown, which can crash inside Dawn while the GPU is still working.
        process.off('SIGINT', onSigint);
        // Another listener (an embedding program's) would take the re-raised signal: exit then.
        if (process.listenerCount('SIGINT') > 0) process.exit(130);
        process.kill(process.pid, 'SIGINT');
        return;
      }
      interrupted = true;
      bar.done();
      process.stderr.write(`shadergrad: stopping within ${REPORT_EVERY} iterations (at the next loss report) and writing the results (Ctrl-C again to quit at once)\n`);
      solverRef?.stop();
    };
    process.off('SIGINT', interruptedEarly);
    process.on('SIGINT', onSigint);
    try {
      say(`data: ${host.train.source} — ${host.nTrain} train, ${host.nVal} val, ${host.test.count} test images; adapter: ${adapter}`);
      const gpu = uploadData(engine, host);
      const checkpointPath = join(out, 'model.safetensors');
      const dataMeta = { data: host.train.source };
      const writeEpochCheckpoint = async () => checkpoint.writeCheckpointFile(checkpointPath, await solver.saveCheckpoint({ metadata: dataMeta }));
      const solver: Solver = buildSolver(engine, config, host.D, gpu, (p) => {
        showProgress(p, terminal, interrupted);
        // Each epoch's checkpoint is on disk before the next epoch starts (--resume continues a killed
        // run from it): train() waits for it. The last epoch's is written with the results.
        if (p.epochEnd && p.iteration < p.numIterations && !interrupted) return writeEpochCheckpoint();
      });
      solverRef = solver;
      if (config.resume) {
        solver.loadCheckpoint(config.resume.bytes);
        say(`resumed from ${config.resume.path} at epoch ${solver.epoch}, iteration ${solver.iteration}`);
      }
      const startLr = typeof solver.optimConfig.learningRate === 'number' ? solver.optimConfig.learningRate : config.lr;
      const outcome = await trainToEnd(solver);
      bar.done();
      return await writeResults(solver, outcome, { config, host, gpu, adapter, started, startLr, checkpointPath, dataMeta, say, interrupted: () => interrupted });
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
