// The Solver: the course's training loop, as one captured GPU step replayed per iteration.

import type { CapturedStep, Engine } from '../engine/engine';
import { countCorrect } from '../kernels/accuracy';
import { storeScalar } from '../kernels/elementwise';
import { gatherRows } from '../kernels/gather';
import { Network } from '../models/network';
import { checkSeed, show } from '../options';
import * as optim from '../optim/index';
import { checkConfig } from '../optim/rules';
import { Random } from '../random';
import { Tensor, fmt, typeName } from '../tensor';
import { decodeSafetensors, loadCheckpoint, saveCheckpoint, writeCheckpointFile } from '../checkpoint/index';
import { SOLVER_KEYS, encodeSolverMeta, parseSolverMeta, readSolverMeta, type CheckpointInfo } from './checkpoint-meta';
import { ShadergradError } from '../errors';

export type { UpdateRuleName } from '../optim/index';
export type { CheckpointInfo, CheckpointModel } from './checkpoint-meta';

/** An optimizer config: hyperparameters (learningRate, …) and, once used, its state tensors. */
export type OptimConfig = Record<string, unknown> & { learningRate?: number };

export interface SolverData {
  XTrain: Tensor;
  yTrain: Tensor;
  XVal: Tensor;
  yVal: Tensor;
}

export interface Progress {
  iteration: number;
  numIterations: number;
  epoch: number;
  numEpochs: number;
  /** The latest loss read back (losses are read in bulk, not every iteration). */
  loss: number;
  trainAcc?: number;
  valAcc?: number;
  /** This report ends an epoch (its accuracy check has run; `epoch` counts it). */
  epochEnd: boolean;
  /** Training samples per second since the previous report (the time its onProgress took not counted). */
  samplesPerSec: number;
}

export interface SolverOptions {
  updateRule?: optim.UpdateRuleName;
  optimConfig?: OptimConfig;
  lrDecay?: number;
  batchSize?: number;
  numEpochs?: number;
  numTrainSamples?: number | null;
  numValSamples?: number | null;
  checkpointName?: string | null;
  printEvery?: number;
  verbose?: boolean;
  seed?: number;
  /**
   * Called at each report (every printEvery iterations, at each accuracy check). A returned promise
   * is awaited before the next step, so the caller can do async work between steps (write a
   * checkpoint, look at the model) without stopping train(); its time is not counted in samplesPerSec.
   * stop() called meanwhile makes train() return before the next step. A hook that throws or rejects
   * makes train() reject with that error, stopped where it was (the model keeps its last parameters;
   * train() again resumes). The last report comes before train() puts the best parameters into the
   * model.
   * (Two signatures, not one returning `void | Promise<void>`: a sync hook that happens to return a
   * value, `(p) => seen.push(p.iteration)`, still type-checks.)
   */
  onProgress?: ((progress: Progress) => void) | ((progress: Progress) => Promise<void>);
  /** Where verbose lines go (console.log by default). */
  log?: (line: string) => void;
}

const OPTION_NAMES = new Set([
  'updateRule',
  'optimConfig',
  'lrDecay',
  'batchSize',
  'numEpochs',
  'numTrainSamples',
  'numValSamples',
  'checkpointName',
  'printEvery',
  'verbose',
  'seed',
  'onProgress',
  'log',
]);

const RULES = optim.updateRules;

/** Whether a hook returned a promise (or another thenable) to wait for, not undefined or a stray value. */
function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** Losses are logged on the GPU into a ring this long and read back in bulk. */
const LOSS_RING = 1024;

/** The minibatch step: gather → forward → backward → optimizer update → log the loss. */
interface TrainStep {
  step: CapturedStep<void>;
  indices: Tensor;
  gradSlab: { flat: Tensor; views: Record<string, Tensor> };
  /** What the step baked in of the model (Network.captureState): the L2 terms' presence, batchnorm's tensors and constants. */
  state: readonly unknown[];
}

/** The accuracy step of one dataset: gather → scores → count the argmax hits. */
interface EvalStep {
  step: CapturedStep<void>;
  indices: Tensor;
  X: Tensor;
  /** The labels it gathers from: a step is bound to one X and one y. */
  y: Tensor;
  /** Network.captureState() when it was captured. */
  state: readonly unknown[];
}

export class Solver {
  readonly model: Network;
  readonly engine: Engine;
  readonly updateRule: optim.UpdateRuleName;
  /** The optimizer's config: one for the whole model, whose parameters are updated as one buffer. */
  optimConfig: OptimConfig;
  readonly lrDecay: number;
  readonly batchSize: number;
  readonly numEpochs: number;
  readonly numTrainSamples: number | null;
  readonly numValSamples: number | null;
  readonly checkpointName: string | null;
  readonly printEvery: number;
  readonly verbose: boolean;
  readonly onProgress: SolverOptions['onProgress'];

  epoch = 0;
  /** Iterations done (training resumes from here). */
  iteration = 0;
  bestValAcc = 0;
  /** The parameters with the best validation accuracy so far (restored into the model at the end). */
  bestParams: Record<string, Tensor> = {};
  lossHistory: number[] = [];
  trainAccHistory: number[] = [];
  valAccHistory: number[] = [];

  private readonly data: SolverData;
  private readonly rng: Random;
  private readonly log: (line: string) => void;
  private train_: TrainStep | null = null;
  private readonly evals = new Map<Tensor, EvalStep>();
  /** True while train() runs. */
  private running = false;
  private readonly lossRing: Tensor;
  private readonly counter: Tensor;
  private best: { flat: Tensor; views: Record<string, Tensor>; buffers: Record<string, Tensor> } | null = null;
  /** Indices of the minibatch the next replay gathers (filled by the step's host hook). */
  private readonly batchIndices: Int32Array;
  private evalIndices = new Int32Array(0);
  private evalRows = 0;
  /** Losses of iterations [lossesRead, iteration) are still on the GPU only. */
  private lossesRead = 0;
  /** The kept "best" parameters are the initial ones (kept before the first step, replaced at the first check). */
  private bestIsInitial = false;
  /** Whether the labels were read back and found in range (once, at the first train()). */
  private labelsChecked = false;
  private stopRequested = false;

  constructor(model: Network, data: SolverData, options: SolverOptions = {}) {
    if (!(model instanceof Network)) throw new ShadergradError('Solver', `model must be a TwoLayerNet or FullyConnectedNet, got ${typeName(model)}`);
    if (options === null || typeof options !== 'object') throw new ShadergradError('Solver', `options must be an object, got ${typeName(options)}`);
    const unknown = Object.keys(options).filter((k) => !OPTION_NAMES.has(k));
    if (unknown.length) throw new Error(`Unrecognized arguments ${unknown.join(', ')}`);
    const {
      updateRule = 'sgd',
      optimConfig = {},
      lrDecay = 1,
      batchSize = 100,
      numEpochs = 10,
      numTrainSamples = 1000,
      numValSamples = null,
      checkpointName = null,
      printEvery = 10,
      verbose = true,
      seed,
      onProgress,
      log,
    } = options;
    if (!Object.hasOwn(RULES, updateRule)) {
      throw new Error(`Invalid update_rule "${updateRule}": shadergrad's Solver knows ${Object.keys(RULES).join(', ')}`);
    }
    for (const [name, v] of [['batchSize', batchSize], ['numEpochs', numEpochs], ['printEvery', printEvery]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ShadergradError('Solver', `${name} must be a positive integer, got ${v}`);
    }
    if (typeof lrDecay !== 'number' || !(lrDecay > 0) || !Number.isFinite(lrDecay)) throw new ShadergradError('Solver', `lrDecay must be a finite number > 0, got ${show(lrDecay)}`);
    checkSeed('Solver', seed);
    for (const [name, f] of [['onProgress', onProgress], ['log', log]] as const) {
      if (f !== undefined && typeof f !== 'function') throw new ShadergradError('Solver', `${name} must be a function, got ${typeName(f)}`);
    }
    if (checkpointName !== null && typeof checkpointName !== 'string') throw new ShadergradError('Solver', `checkpointName must be a string or null, got ${typeName(checkpointName)}`);
    for (const [name, v] of [['numTrainSamples', numTrainSamples], ['numValSamples', numValSamples]] as const) {
      if (v !== null && (!Number.isInteger(v) || v < 1)) throw new ShadergradError('Solver', `${name} must be a positive integer or null, got ${v}`);
    }
    // The config as the rule will see it at the first step: a misspelt key or a bad value throws now.
    checkConfig(updateRule, optimConfig, `Solver: optimConfig (${updateRule})`);
    this.model = model;
    this.engine = model.engine;
    this.data = data;
    this.checkData(data);
    this.updateRule = updateRule;
    this.optimConfig = { ...optimConfig };
    this.lrDecay = lrDecay;
    this.batchSize = batchSize;
    this.numEpochs = numEpochs;
    this.numTrainSamples = numTrainSamples;
    this.numValSamples = numValSamples;
    this.checkpointName = checkpointName;
    this.printEvery = printEvery;
    this.verbose = verbose;
    this.onProgress = onProgress;
    this.log = log ?? ((line) => console.log(line));
    this.rng = new Random(seed);
    if (seed !== undefined) model.seedDropout(this.rng.nextU32());
    this.batchIndices = new Int32Array(batchSize);
    this.lossRing = this.engine.zeros([LOSS_RING], 'f32', 'solver.losses');
    this.counter = this.engine.zeros([1], 'i32', 'solver.correct');
  }

  get iterationsPerEpoch(): number {
    return Math.max(Math.floor(this.data.XTrain.shape[0]! / this.batchSize), 1);
  }

  get numIterations(): number {
    return this.numEpochs * this.iterationsPerEpoch;
  }

  /**
   * Asks a running train() to return; calling train() again resumes. Steps between reports are
   * queued without a pause, so a call from outside the loop (a timer, a signal, a button) lands at
   * the next report, at most printEvery iterations on; one from onProgress stops before the next step.
   */
  stop(): void {
    this.stopRequested = true;
  }

  /** True once every iteration has run. */
  get finished(): boolean {
    return this.iteration >= this.numIterations;
  }

  /**
   * Runs the optimization (from the current iteration: a stopped or restored Solver resumes);
   * resolves when done or stopped. A NaN or infinite loss stops it with an Error, puts the best
   * parameters into the model, as finishing does, and zeroes the optimizer's state (its moments
   * went through the diverged steps). An onProgress that throws stops it with that error where it
   * was, as stop() does: the model keeps its last parameters, which go with the optimizer's state
   * and counters, and train() again resumes — unless it failed at the last report, where the run
   * ends as a finished one, with the best parameters.
   */
  async train(): Promise<void> {
    // A second loop over the same counters would step past the end (an async onProgress that calls
    // train() instead of returning, two buttons that each start one).
    if (this.running) throw new ShadergradError('Solver.train', 'this Solver is already training: await the running train(), or stop() it first');
    this.running = true;
    try {
      await this.trainFromHere();
    } finally {
      this.running = false;
      // A finished run ends with the best parameters in the model — also when a report after the
      // last step failed (a hook, the checkpoint file): nothing is left to resume.
      if (this.finished) this.restoreBest();
    }
  }

  private async trainFromHere(): Promise<void> {
    this.stopRequested = false;
    if (!this.labelsChecked) await this.checkLabels();
    // Before the first step, the parameters it starts from are the ones to fall back to: a loss that
    // is NaN at once (a learning rate or weight scale far too large) leaves the model as it was made.
    if (this.iteration === 0 && !this.best) {
      this.keepBest();
      this.bestIsInitial = true;
    }
    const perEpoch = this.iterationsPerEpoch;
    const total = this.numIterations;
    let since = performance.now();
    let samplesSince = 0;
    for (let t = this.iteration; t < total; t++) {
      if (this.stopRequested) {
        await this.readLosses();
        return;
      }
      this.step();
      samplesSince += this.batchSize;
      const epochEnd = (t + 1) % perEpoch === 0;
      if (epochEnd) {
        this.epoch++;
        if (typeof this.optimConfig.learningRate === 'number') this.optimConfig.learningRate *= this.lrDecay;
      }
      const check = t === 0 || t === total - 1 || epochEnd;
      const printNow = t % this.printEvery === 0;
      // Losses come back in bulk: at accuracy checks, every printEvery iterations, and before the ring wraps.
      if (!check && !printNow && this.iteration - this.lossesRead < LOSS_RING - 1) continue;
      await this.readLosses();
      const loss = this.lossHistory[this.lossHistory.length - 1]!;
      const seconds = (performance.now() - since) / 1000;
      const samplesPerSec = seconds > 0 ? samplesSince / seconds : 0;
      if (this.verbose && printNow) this.log(`(Iteration ${t + 1} / ${total}) loss: ${loss.toFixed(6)}`);
      let trainAcc: number | undefined;
      let valAcc: number | undefined;
      if (check) {
        trainAcc = await this.checkAccuracy(this.data.XTrain, this.data.yTrain, { numSamples: this.numTrainSamples ?? undefined });
        valAcc = await this.checkAccuracy(this.data.XVal, this.data.yVal, { numSamples: this.numValSamples ?? undefined });
        this.trainAccHistory.push(trainAcc);
        this.valAccHistory.push(valAcc);
        if (this.verbose) this.log(`(Epoch ${this.epoch} / ${this.numEpochs}) train acc: ${trainAcc.toFixed(6)}; val_acc: ${valAcc.toFixed(6)}`);
        if (valAcc > this.bestValAcc || !this.best || this.bestIsInitial) {
          if (valAcc > this.bestValAcc) this.bestValAcc = valAcc;
          this.bestIsInitial = false;
          this.keepBest();
        }
        if (epochEnd && this.checkpointName) await this.saveCheckpointFile();
      }
      const reported = this.onProgress?.({ iteration: t + 1, numIterations: total, epoch: this.epoch, numEpochs: this.numEpochs, loss, trainAcc, valAcc, epochEnd, samplesPerSec });
      // Only an async hook is awaited: a sync one costs no extra turn of the event loop per report.
      if (isPromiseLike(reported)) await reported;
      since = performance.now();
      samplesSince = 0;
    }
  }

  /** One training iteration: replays the captured step (its host hook samples a new minibatch). */
  step(): void {
    if (this.trainStepIsCurrent()) this.train_!.step.replay();
    else this.captureTrainStep(); // capturing runs the step once: this iteration
    this.iteration++;
  }

  /** Fraction of rows of X whose predicted class is y (numSamples: a random subsample, with replacement). */
  async checkAccuracy(X: Tensor, y: Tensor, { numSamples, batchSize = 100 }: { numSamples?: number; batchSize?: number } = {}): Promise<number> {
    this.model.checkBatch('checkAccuracy', X, y);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ShadergradError('checkAccuracy', `batchSize must be a positive integer, got ${batchSize}`);
    if (numSamples != null && (!Number.isInteger(numSamples) || numSamples < 1)) {
      throw new ShadergradError('checkAccuracy', `numSamples must be a positive integer, got ${numSamples}`);
    }
    const N = X.shape[0]!;
    let indices: Int32Array;
    if (numSamples != null && N > numSamples) {
      indices = Int32Array.from({ length: numSamples }, () => this.rng.int(N));
    } else {
      indices = Int32Array.from({ length: N }, (_, i) => i);
    }
    if (!indices.length) return 0;
    const evalStep = this.evalStep(X, y, Math.min(batchSize, indices.length));
    const size = evalStep.indices.size;
    this.engine.clear(this.counter);
    // One host array for every batch: the step's hook hands it to queue.writeBuffer, which copies it.
    this.evalIndices = new Int32Array(size);
    for (let start = 0; start < indices.length; start += size) {
      const chunk = indices.subarray(start, start + size);
      this.evalIndices.fill(0);
      this.evalIndices.set(chunk);
      this.evalRows = chunk.length;
      evalStep.step.replay();
    }
    const correct = (await this.counter.read())[0]!;
    return correct / indices.length;
  }

  // ---- captured steps ----------------------------------------------------------------------------

  private trainStepIsCurrent(): boolean {
    const t = this.train_;
    return !!t && this.model.captureStateIs(t.state);
  }

  private captureTrainStep(): void {
    this.disposeTrainStep();
    const engine = this.engine;
    const model = this.model;
    const packed = model.packParams();
    const { XTrain, yTrain } = this.data;
    const B = this.batchSize;
    const indices = engine.zeros([B], 'i32', 'solver.batch');
    const Xb = engine.empty([B, ...XTrain.shape.slice(1)], 'f32', 'solver.X');
    const yb = engine.empty([B], 'i32', 'solver.y');
    const gradSlab = engine.slab(model.expectedShapes(), 'grads');
    const rule = RULES[this.updateRule];
    const state = model.captureState();
    const freeBuffers = () => {
      for (const t of [indices, Xb, yb, gradSlab.flat, ...Object.values(gradSlab.views)]) t.dispose();
    };
    let step: CapturedStep<void>;
    try {
      step = engine.capture(() => {
        engine.host(() => {
          const n = XTrain.shape[0]!;
          for (let i = 0; i < B; i++) this.batchIndices[i] = this.rng.int(n);
          engine.writeBuffer(indices.storage, this.batchIndices, indices.byteOffset);
        });
        gatherRows(engine, XTrain, indices, Xb);
        gatherRows(engine, yTrain, indices, yb);
        // The gradients are written straight into the slab's views (no copy per parameter); a
        // subclass whose trainPass makes its own still has them copied there.
        const { loss, grads } = model.trainPass(Xb, yb, { gradsInto: gradSlab.views });
        for (const [name, g] of Object.entries(grads)) {
          if (g === gradSlab.views[name]) continue;
          engine.copy(g, gradSlab.views[name]!);
          g.dispose();
        }
        // One dispatch updates every parameter: the rule sees the slabs as two flat tensors.
        this.optimConfig = rule(packed.flat, gradSlab.flat, this.optimConfig).config as OptimConfig;
        storeScalar(engine, loss, this.lossRing, () => this.iteration % LOSS_RING);
        loss.dispose();
      }, 'solver.train');
    } catch (error) {
      freeBuffers();
      throw error;
    }
    // The captured commands keep using the batch buffers: the pool holds them until the step is disposed.
    Xb.dispose();
    yb.dispose();
    this.train_ = { step, indices, gradSlab, state };
  }

  private evalStep(X: Tensor, y: Tensor, batch: number): EvalStep {
    const model = this.model;
    model.packParams(); // the step binds the packed parameters
    const existing = this.evals.get(X);
    // Bound to this X and this y: new labels for the same images need a step of their own.
    if (existing && existing.y === y && existing.indices.size === batch && model.captureStateIs(existing.state)) return existing;
    if (existing) this.disposeEval(X);
    const engine = this.engine;
    const state = model.captureState();
    const indices = engine.zeros([batch], 'i32', 'eval.batch');
    const Xb = engine.empty([batch, ...X.shape.slice(1)], 'f32', 'eval.X');
    const yb = engine.empty([batch], 'i32', 'eval.y');
    // The first replay happens inside capture(): give it an empty batch.
    this.evalIndices = new Int32Array(batch);
    this.evalRows = 0;
    let step: CapturedStep<void>;
    try {
      step = engine.capture(() => {
        engine.host(() => engine.writeBuffer(indices.storage, this.evalIndices, indices.byteOffset));
        gatherRows(engine, X, indices, Xb);
        gatherRows(engine, y, indices, yb);
        const scores = model.scorePass(Xb);
        countCorrect(engine, scores, yb, this.counter, () => this.evalRows);
        scores.dispose();
      }, 'solver.eval');
    } catch (error) {
      for (const t of [indices, Xb, yb]) t.dispose();
      throw error;
    }
    Xb.dispose();
    yb.dispose();
    const entry: EvalStep = { step, indices, X, y, state };
    this.evals.set(X, entry);
    return entry;
  }

  private disposeTrainStep(): void {
    const t = this.train_;
    if (!t) return;
    t.step.dispose();
    t.indices.dispose();
    t.gradSlab.flat.dispose();
    for (const v of Object.values(t.gradSlab.views)) v.dispose();
    this.train_ = null;
  }

  private disposeEval(X: Tensor): void {
    const e = this.evals.get(X);
    if (!e) return;
    e.step.dispose();
    e.indices.dispose();
    this.evals.delete(X);
  }

  // ---- losses, best parameters -------------------------------------------------------------------

  /** Reads the losses logged on the GPU since the last read; throws at the first non-finite one. */
  private async readLosses(): Promise<void> {
    const from = this.lossesRead;
    const to = this.iteration;
    if (to <= from) return;
    const ring = (await this.lossRing.read()) as Float32Array;
    for (let i = from; i < to; i++) {
      const loss = ring[i % LOSS_RING]!;
      if (!Number.isFinite(loss)) {
        // Losses are read in bulk: steps after the failing one ran too (and epochs, decays may have
        // advanced). The Solver's counters go back to the failing step, so a checkpoint of it is consistent.
        this.lossHistory.push(loss);
        this.iteration = i + 1;
        this.lossesRead = this.iteration;
        const failedEpoch = Math.floor(this.iteration / this.iterationsPerEpoch);
        if (typeof this.optimConfig.learningRate === 'number') {
          for (let e = failedEpoch; e < this.epoch; e++) this.optimConfig.learningRate /= this.lrDecay;
        }
        this.epoch = Math.min(this.epoch, failedEpoch);
        const epoch = Math.floor(i / this.iterationsPerEpoch);
        // The parameters are not finite any more (or soon will not be): the best ones go back, and
        // the optimizer starts afresh from them (its moments went through the diverged steps).
        this.restoreBest();
        this.resetOptimizerState();
        throw new ShadergradError(
          'Solver',
          `the loss became ${loss} at iteration ${i + 1} (epoch ${epoch + 1}); training stopped. ` +
            (this.bestIsInitial
              ? 'The initial parameters were restored, the optimizer reset.'
              : this.best
                ? `The best parameters so far (val acc ${this.bestValAcc.toFixed(4)}) were restored, the optimizer reset.`
                : 'No parameters were kept.') +
            ' Lower the learning rate or the weight scale, or look for NaN or infinite values in the data.',
        );
      }
      this.lossHistory.push(loss);
    }
    this.lossesRead = to;
  }

  /** Allocates the copy of the best parameters (and batchnorm averages), once. */
  private ensureBest(): NonNullable<Solver['best']> {
    if (!this.best) {
      const engine = this.engine;
      const packed = this.model.packParams();
      const flat = engine.zeros(packed.flat.shape, 'f32', 'solver.best');
      const views = engine.viewsLike(flat, packed.views);
      const saved: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(this.model.bufferTensors())) saved[name] = engine.zeros(t.shape, 'f32', 'solver.best');
      this.best = { flat, views, buffers: saved };
      this.bestParams = views;
    }
    return this.best;
  }

  private keepBest(): void {
    const engine = this.engine;
    const packed = this.model.packParams();
    const buffers = this.model.bufferTensors();
    this.ensureBest();
    engine.copy(packed.flat, this.best!.flat);
    for (const [name, t] of Object.entries(buffers)) engine.copy(t, this.best!.buffers[name]!);
    engine.flush();
  }

  private restoreBest(): void {
    if (!this.best) return;
    const packed = this.model.packParams();
    this.engine.copy(this.best.flat, packed.flat);
    const buffers = this.model.bufferTensors();
    for (const [name, t] of Object.entries(buffers)) this.engine.copy(this.best.buffers[name]!, t);
    this.engine.flush();
  }

  /**
   * Labels outside [0, numClasses) would make the loss NaN at the first step, and the message would
   * blame the learning rate: read them back once, before the first step, and name the first bad one.
   */
  private async checkLabels(): Promise<void> {
    const C = this.model.numClasses;
    for (const [name, y] of [['yTrain', this.data.yTrain], ['yVal', this.data.yVal]] as const) {
      const labels = await y.read();
      const bad = labels.findIndex((v) => !(v >= 0 && v < C));
      if (bad >= 0) throw new ShadergradError('Solver', `data.${name}[${bad}] is ${labels[bad]}: labels must be in [0, ${C}) for a model with ${C} classes`);
    }
    this.labelsChecked = true;
  }

  private checkData(data: SolverData): void {
    if (data === null || typeof data !== 'object') throw new ShadergradError('Solver', `data must be { XTrain, yTrain, XVal, yVal }, got ${typeName(data)}`);
    const { XTrain, yTrain, XVal, yVal } = data;
    // Tensors, not disposed, on the model's Engine, of its width: checked here, not at the first GPU step.
    for (const [set, X, y] of [['Train', XTrain, yTrain], ['Val', XVal, yVal]] as const) {
      this.model.checkBatch('Solver', X, y, [`data.X${set}`, `data.y${set}`]);
      if (!X.shape[0]) throw new ShadergradError('Solver', `data.X${set} has no rows: ${fmt(X.shape)}`);
    }
  }

  // ---- checkpoints -------------------------------------------------------------------------------

  /** State tensors the update rule keeps in its config. */
  private static readonly STATE_KEYS = ['velocity', 'cache', 'm', 'v'] as const;

  /** Zeroes the update rule's state (moments, velocity, cache; Adam's step count), as a new optimizer has it. */
  private resetOptimizerState(): void {
    for (const key of Solver.STATE_KEYS) {
      const t = this.optimConfig[key];
      if (t instanceof Tensor) this.engine.clear(t);
    }
    if (typeof this.optimConfig.t === 'number') this.optimConfig.t = 0;
    this.engine.flush();
  }

  /** Everything a checkpoint holds, by name: parameters, batchnorm averages, optimizer state per parameter. */
  private checkpointTensors(withBest: boolean): { tensors: Record<string, Tensor>; views: Tensor[] } {
    const packed = this.model.packParams();
    const tensors: Record<string, Tensor> = { ...packed.views, ...this.model.bufferTensors() };
    const views: Tensor[] = [];
    if (withBest && this.best) {
      for (const [name, t] of Object.entries({ ...this.best.views, ...this.best.buffers })) tensors[`best.${name}`] = t;
    }
    for (const key of Solver.STATE_KEYS) {
      const state = this.optimConfig[key];
      if (!(state instanceof Tensor)) continue;
      for (const [name, v] of Object.entries(this.engine.viewsLike(state, packed.views))) {
        tensors[`optim.${key}.${name}`] = v;
        views.push(v);
      }
    }
    return { tensors, views };
  }

  /**
   * The training state as a safetensors file: parameters (W1, b1, …), batchnorm running averages
   * (bn1.runningMean, …), optimizer state per parameter (optim.m.W1, …), the best parameters so
   * far (best.W1, …; `best: false` leaves them out) and, in its metadata, the epoch, iteration,
   * histories, hyperparameters and random generators' states. numpy and PyTorch read it with the
   * `safetensors` package. `metadata`: more string fields for the file's metadata (what the caller
   * wants to find again, e.g. the dataset it trained on); they may not reuse the Solver's own keys.
   */
  async saveCheckpoint({ best = true, metadata = {} }: { best?: boolean; metadata?: Record<string, string> } = {}): Promise<Uint8Array> {
    const m = this.model;
    const hyper = Object.fromEntries(Object.entries(this.optimConfig).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
    const own = encodeSolverMeta({
      model: { inputDim: m.inputDim, hiddenDims: [...m.hiddenDims], numClasses: m.numClasses, batchnorm: m.useBatchnorm, dropout: m.dropoutP, reg: m.reg },
      updateRule: this.updateRule,
      optimConfig: hyper,
      batchSize: this.batchSize,
      numEpochs: this.numEpochs,
      lrDecay: this.lrDecay,
      trainSamples: this.data.XTrain.shape[0]!,
      epoch: this.epoch,
      iteration: this.iteration,
      bestValAcc: this.bestValAcc,
      lossHistory: this.lossHistory,
      trainAccHistory: this.trainAccHistory,
      valAccHistory: this.valAccHistory,
      rng: this.rng.getState(),
      dropoutRng: this.model.dropoutRng?.getState() ?? null,
    });
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new ShadergradError('saveCheckpoint', `metadata must be an object of strings, got ${JSON.stringify(metadata)}`);
    }
    const clashes = Object.keys(metadata).filter((key) => (SOLVER_KEYS as readonly string[]).includes(key));
    if (clashes.length) throw new ShadergradError('saveCheckpoint', `metadata ${clashes.join(', ')} would replace the Solver's own`);
    const { tensors, views } = this.checkpointTensors(best);
    try {
      return await saveCheckpoint(this.engine, tensors, { ...own, ...metadata });
    } finally {
      for (const v of views) v.dispose();
    }
  }

  /**
   * What a checkpoint written by saveCheckpoint holds besides its tensors — the model, update rule,
   * schedule, where it stopped, its histories and the caller's own metadata — read from its bytes
   * without a GPU, to build the model and Solver that load it. Throws an Error naming what is wrong.
   */
  static checkpointInfo(bytes: Uint8Array): CheckpointInfo {
    const { rng: _rng, dropoutRng: _dropoutRng, ...info } = readSolverMeta(bytes, 'Solver.checkpointInfo');
    return info;
  }

  /**
   * Restores a checkpoint written by saveCheckpoint: train() then resumes from its iteration.
   * Everything is checked before anything is written: a corrupt or mismatched file throws and
   * changes nothing.
   */
  loadCheckpoint(bytes: Uint8Array): void {
    const op = 'Solver.loadCheckpoint';
    const packed = this.model.packParams();
    const header = decodeSafetensors(bytes);
    const state = parseSolverMeta(header.metadata, op); // throws before anything is written
    if (state.updateRule !== this.updateRule) {
      throw new ShadergradError(op, `the checkpoint was written with update rule ${state.updateRule}, this Solver uses ${this.updateRule}`);
    }
    if (state.batchSize !== null && state.batchSize !== this.batchSize) {
      throw new ShadergradError(op, `the checkpoint was written with batch size ${state.batchSize}, this Solver uses ${this.batchSize} (epochs would not count the same iterations)`);
    }
    // A NaN or infinite value (a corrupted file, one saved from a diverged run) would train at chance, silently.
    for (const [name, t] of Object.entries(header.tensors)) {
      if (!(t.data instanceof Float32Array)) continue;
      const bad = t.data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new ShadergradError(op, `the checkpoint's ${name} holds ${t.data[bad]} at index ${bad}: a model cannot go on from it`);
    }
    const nTrain = this.data.XTrain.shape[0]!;
    if (state.trainSamples !== null && state.trainSamples !== nTrain) {
      throw new ShadergradError(op, `the checkpoint was trained on ${state.trainSamples} training images, this Solver has ${nTrain}: was it trained on other data?`);
    }
    if (Math.floor(state.iteration / this.iterationsPerEpoch) !== state.epoch) {
      throw new ShadergradError(
        op,
        `the checkpoint is at epoch ${state.epoch}, iteration ${state.iteration}, but this Solver has ` +
          `${this.iterationsPerEpoch} iterations per epoch: was it trained on other data (another number of training images)?`,
      );
    }
    // Optimizer state the file holds but this config lacks yet (no step taken): make it, zeroed.
    const created: Tensor[] = [];
    for (const key of Solver.STATE_KEYS) {
      const wanted = Object.keys(header.tensors).some((n) => n.startsWith(`optim.${key}.`));
      if (wanted && !(this.optimConfig[key] instanceof Tensor)) {
        const t = this.engine.zeros(packed.flat.shape, 'f32', `optim.${key}`);
        created.push(t);
        this.optimConfig[key] = t;
      }
    }
    const hasBest = Object.keys(header.tensors).some((n) => n.startsWith('best.'));
    const bestBefore = this.best;
    if (hasBest) this.ensureBest();
    const { tensors, views } = this.checkpointTensors(hasBest);
    try {
      loadCheckpoint(this.engine, bytes, tensors);
    } catch (error) {
      for (const t of created) {
        t.dispose();
        for (const key of Solver.STATE_KEYS) if (this.optimConfig[key] === t) delete this.optimConfig[key];
      }
      if (!bestBefore) this.disposeBest();
      throw error;
    } finally {
      for (const v of views) v.dispose();
    }
    Object.assign(this.optimConfig, state.optimConfig);
    this.epoch = state.epoch;
    this.iteration = state.iteration;
    this.lossesRead = this.iteration;
    this.bestValAcc = state.bestValAcc;
    this.lossHistory = state.lossHistory;
    this.trainAccHistory = state.trainAccHistory;
    this.valAccHistory = state.valAccHistory;
    if (state.rng) this.rng.setState(state.rng);
    if (state.dropoutRng && this.model.dropoutRng) this.model.dropoutRng.setState(state.dropoutRng);
    if (!hasBest) {
      // Without the best parameters in the file, the loaded ones are the best known.
      this.bestValAcc = this.valAccHistory.at(-1) ?? 0;
      this.keepBest();
    }
  }

  /** Node: writes `${checkpointName}_epoch_${epoch}.safetensors` (atomically: a temporary file, then rename). */
  private async saveCheckpointFile(): Promise<void> {
    const path = `${this.checkpointName}_epoch_${this.epoch}.safetensors`;
    await writeCheckpointFile(path, await this.saveCheckpoint());
    if (this.verbose) this.log(`checkpoint: ${path}`);
  }

  /** Frees the captured steps and the Solver's buffers (not the model). */
  dispose(): void {
    this.disposeTrainStep();
    for (const X of [...this.evals.keys()]) this.disposeEval(X);
    this.lossRing.dispose();
    this.counter.dispose();
    this.disposeBest();
  }

  private disposeBest(): void {
    if (!this.best) return;
    this.best.flat.dispose();
    for (const v of Object.values(this.best.views)) v.dispose();
    for (const v of Object.values(this.best.buffers)) v.dispose();
    this.best = null;
    this.bestParams = {};
  }
}
