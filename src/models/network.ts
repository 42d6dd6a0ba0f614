// The fully-connected network behind TwoLayerNet and FullyConnectedNet: parameters, the taped
// forward/backward pass, and captured steps replayed per input shape.

import type { CapturedStep, Engine } from '../engine/engine';
import { axpyInPlace } from '../kernels/elementwise';
import { gatherRange } from '../kernels/gather';
import { sumAllInto } from '../kernels/reduce';
import { Tape } from '../graph/tape';
import { affine } from '../ops/affine';
import { batchnorm, type BnParam } from '../ops/batchnorm';
import { dropout, type DropoutParam } from '../ops/dropout';
import { classificationLoss } from '../kernels/loss';
import { Random } from '../random';
import { checkSeed, show } from '../options';
import { F32_MAX, Tensor, checkTensors, fmt, rowSize, typeName } from '../tensor';
import { ShadergradError } from '../errors';

export interface NetworkConfig {
  inputDim: number;
  hiddenDims: number[];
  numClasses: number;
  /** Probability of dropping a hidden unit (0: no dropout). */
  dropout: number;
  batchnorm: boolean;
  reg: number;
  weightScale: number;
  seed?: number;
}

export interface LossOptions {
  /** Capture the step on first use and replay it later (default true); false runs eagerly. */
  capture?: boolean;
}

export interface TrainResult {
  loss: Tensor;
  grads: Record<string, Tensor>;
}

export interface TrainPassOptions {
  /**
   * Tensors to write gradients into, by parameter name (views of one slab, which an optimizer
   * updates in one dispatch): each must be f32 of its parameter's shape and is returned as that
   * gradient, still the caller's. Saves a copy per parameter each step.
   */
  gradsInto?: Record<string, Tensor>;
}

/** A step captured for one input shape and mode, with the input buffers it reads. */
interface CapturedEntry {
  step: CapturedStep<{ scores?: Tensor; loss?: Tensor; grads?: Record<string, Tensor> }>;
  X: Tensor;
  y: Tensor | null;
  /** What the step baked in (see Network.captureState): another state means another capture. */
  state: readonly unknown[];
}

const MAX_CAPTURES = 8;

/**
 * (affine - [batchnorm] - relu - [dropout]) × (L − 1) - affine - softmax, with parameters W1, b1,
 * …, WL, bL and gamma1, beta1, … for the hidden layers when batchnorm is on.
 */
export class Network {
  /**
   * The name errors give the model: a literal, since minifiers and bundlers rename classes (the page's
   * build would report `constructor.name` as `e`, a bundle as `Network$1`).
   */
  static readonly modelName: string = 'Network';
  readonly engine: Engine;
  /** The parameters by name; assigning one (params.W1 = t) takes effect on the next call. */
  params: Record<string, Tensor> = {};
  /** L2 regularization strength (0.5·reg·ΣW² in the loss); writable. */
  reg: number;
  readonly inputDim: number;
  readonly hiddenDims: readonly number[];
  readonly numClasses: number;
  readonly numLayers: number;
  readonly useBatchnorm: boolean;
  readonly dropoutP: number;
  readonly seed: number | undefined;
  /** Per hidden layer: mode, eps, momentum and the running averages (GPU tensors, updated in place). */
  readonly bnParams: BnParam[] = [];
  private readonly dropoutParams: DropoutParam[] = [];
  private readonly captures = new Map<string, CapturedEntry>();
  /** The parameters as views of one buffer (see packParams), while params still holds those views. */
  private packed: { flat: Tensor; views: Record<string, Tensor> } | null = null;
  /** Tensors the model made (and so frees when they are replaced or the model is disposed). */
  private readonly owned = new Set<Tensor>();

  /** This model's class name, as errors give it. */
  get modelName(): string {
    return (this.constructor as typeof Network).modelName;
  }

  constructor(engine: Engine, config: NetworkConfig) {
    const { inputDim, hiddenDims, numClasses, dropout: p, weightScale } = config;
    for (const [name, v] of [['inputDim', inputDim], ['numClasses', numClasses], ...hiddenDims.map((h, i) => [`hiddenDims[${i}]`, h] as const)] as const) {
      if (!Number.isInteger(v) || (v as number) < 1) throw new ShadergradError(this.modelName, `${name} must be a positive integer, got ${v}`);
    }
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new ShadergradError(this.modelName, `dropout must be a number in [0, 1), got ${show(p)}`);
    if (typeof weightScale !== 'number' || !(weightScale >= 0 && weightScale <= F32_MAX)) {
      throw new ShadergradError(this.modelName, `weightScale must be a finite f32 number ≥ 0, got ${show(weightScale)}`);
    }
    if (typeof config.batchnorm !== 'boolean') throw new ShadergradError(this.modelName, `batchnorm must be true or false, got ${show(config.batchnorm)}`);
    checkSeed(this.modelName, config.seed);
    checkReg(this.modelName, config.reg);
    this.engine = engine;
    this.inputDim = inputDim;
    this.hiddenDims = [...hiddenDims];
    this.numClasses = numClasses;
    this.numLayers = hiddenDims.length + 1;
    this.useBatchnorm = config.batchnorm;
    this.dropoutP = p;
    this.reg = config.reg;
    this.seed = config.seed;
    const rng = new Random(config.seed);
    const dims = [inputDim, ...hiddenDims, numClasses];
    for (let l = 1; l <= this.numLayers; l++) {
      const [fanIn, fanOut] = [dims[l - 1]!, dims[l]!];
      this.params[`W${l}`] = engine.tensor(rng.normals(fanIn * fanOut, weightScale), [fanIn, fanOut]);
      this.params[`b${l}`] = engine.zeros([fanOut]);
      if (l < this.numLayers && this.useBatchnorm) {
        this.params[`gamma${l}`] = engine.tensor(new Float32Array(fanOut).fill(1), [fanOut]);
        this.params[`beta${l}`] = engine.zeros([fanOut]);
        this.bnParams.push({ mode: 'train', eps: 1e-5, momentum: 0.9, runningMean: engine.zeros([fanOut]), runningVar: engine.zeros([fanOut]) });
      }
      if (l < this.numLayers && p > 0) this.dropoutParams.push({ p, mode: 'train', seed: config.seed, stream: l });
    }
    for (const t of Object.values(this.params)) this.owned.add(t);
  }

  /**
   * Moves the parameters into one buffer (views at aligned offsets) so an optimizer updates them
   * all in one dispatch; params then holds the views. Returns the flat tensor and the views.
   * Called again after a parameter was reassigned, it packs the new set.
   */
  packParams(): { flat: Tensor; views: Record<string, Tensor> } {
    const packed = this.packed;
    if (packed && Object.entries(packed.views).every(([name, v]) => this.params[name] === v)) return packed;
    this.checkParams(`${this.modelName}.packParams`);
    const slab = this.engine.slab(this.expectedShapes(), 'params');
    for (const [name, view] of Object.entries(slab.views)) {
      const old = this.params[name]!;
      this.engine.copy(old, view);
      if (this.owned.delete(old)) old.dispose();
      this.owned.add(view);
      this.params[name] = view;
    }
    if (packed) this.disposeOwned(packed.flat);
    this.owned.add(slab.flat);
    this.packed = slab;
    return slab;
  }

  /**
   * For training: every step draws a new dropout mask from a Random seeded with `seed`, so a run
   * is reproducible (the Solver's seed). This replaces the model's own fixed-mask seed, which is
   * for gradient checks (the course's semantics: a seeded model uses one mask on every call).
   */
  seedDropout(seed: number): Random {
    const rng = new Random(seed);
    this.dropoutRng = rng;
    for (const dp of this.dropoutParams) {
      dp.seed = undefined;
      dp.rng = rng;
    }
    return rng;
  }

  /** The Random that seedDropout installed (its state goes into Solver checkpoints). */
  dropoutRng: Random | null = null;

  /** Running averages of every batchnorm layer, named bn1.runningMean, bn1.runningVar, …. */
  bufferTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.bnParams.forEach((bn, i) => {
      out[`bn${i + 1}.runningMean`] = bn.runningMean!;
      out[`bn${i + 1}.runningVar`] = bn.runningVar!;
    });
    return out;
  }

  private disposeOwned(t: Tensor): void {
    if (this.owned.delete(t)) t.dispose();
  }

  /** Names and shapes every parameter must have. */
  expectedShapes(): Record<string, number[]> {
    const dims = [this.inputDim, ...this.hiddenDims, this.numClasses];
    const shapes: Record<string, number[]> = {};
    for (let l = 1; l <= this.numLayers; l++) {
      shapes[`W${l}`] = [dims[l - 1]!, dims[l]!];
      shapes[`b${l}`] = [dims[l]!];
      if (l < this.numLayers && this.useBatchnorm) {
        shapes[`gamma${l}`] = [dims[l]!];
        shapes[`beta${l}`] = [dims[l]!];
      }
    }
    return shapes;
  }

  /** Test mode: the class scores (N, C) for X (N, d1, …, dk). */
  loss(X: Tensor, y?: undefined, options?: LossOptions): Tensor;
  /** Train mode: the mean softmax loss plus the L2 penalty, and the gradient of every parameter. */
  loss(X: Tensor, y: Tensor, options?: LossOptions): TrainResult;
  loss(X: Tensor, y?: Tensor, options: LossOptions = {}): Tensor | TrainResult {
    this.checkInputs(X, y);
    // A dataset kept as packed 8-bit values: unpack its rows to f32 for this call.
    if (X.format === 'unorm8') {
      const engine = this.engine;
      const unpacked = gatherRange(engine, X, 0, X.shape[0]!);
      try {
        return this.loss(unpacked, y as Tensor, options);
      } finally {
        unpacked.dispose();
      }
    }
    const train = y !== undefined;
    if (options.capture === false) return train ? this.trainPass(X, y) : this.scorePass(X);
    const entry = this.capturedFor(X, y);
    const out = entry.step.result;
    // Fresh copies: a later call replays into the same buffers.
    const copy = (t: Tensor) => {
      const c = this.engine.empty(t.shape, t.dtype, 'loss.result');
      this.engine.copy(t, c);
      return c;
    };
    const result: Tensor | TrainResult = train
      ? { loss: copy(out.loss!), grads: Object.fromEntries(Object.entries(out.grads!).map(([k, g]) => [k, copy(g)])) }
      : copy(out.scores!);
    this.engine.flush();
    return result;
  }

  /**
   * Predicted classes (argmax of the scores) of every row of X, in batches; X may be a packed
   * 8-bit dataset. Reads the scores back: for evaluation, not inside a training step.
   */
  async predict(X: Tensor, { batchSize = 1000 }: { batchSize?: number } = {}): Promise<Int32Array> {
    const engine = this.engine;
    this.checkInputs(X, undefined, `${this.modelName}.predict`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ShadergradError(`${this.modelName}.predict`, `batchSize must be a positive integer, got ${batchSize}`);
    const N = X.shape[0]!;
    const out = new Int32Array(N);
    const C = this.numClasses;
    for (let start = 0; start < N; start += batchSize) {
      const count = Math.min(batchSize, N - start);
      const rows = gatherRange(engine, X, start, count);
      const scores = this.loss(rows);
      const values = await scores.read();
      for (let i = 0; i < count; i++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (values[i * C + c]! > values[i * C + best]!) best = c;
        out[start + i] = best;
      }
      [rows, scores].forEach((t) => t.dispose());
    }
    return out;
  }

  /** The captured step for this input shape and mode: replayed (inputs copied in) or captured now. */
  private capturedFor(X: Tensor, y: Tensor | undefined): CapturedEntry {
    const engine = this.engine;
    const train = y !== undefined;
    const key = `${train ? 'train' : 'test'}:${X.shape.join('x')}:${train && this.reg !== 0 ? 'reg' : ''}`;
    let entry = this.captures.get(key);
    if (entry && !this.captureStateIs(entry.state)) {
      this.disposeEntry(key, entry);
      entry = undefined;
    }
    if (entry) {
      engine.copy(X, entry.X);
      if (y) engine.copy(y, entry.y!);
      this.captures.delete(key); // most recently used last
      this.captures.set(key, entry);
      engine.replay(entry.step, { flush: false });
      return entry;
    }
    const Xc = engine.empty(X.shape, 'f32', 'step.X');
    const yc = y ? engine.empty(y.shape, 'i32', 'step.y') : null;
    engine.copy(X, Xc);
    if (y) engine.copy(y, yc!);
    const state = this.captureState();
    let step: CapturedEntry['step'];
    try {
      step = engine.capture(() => (train ? this.trainPass(Xc, yc!) : { scores: this.scorePass(Xc) }), `${this.modelName}.${key}`);
    } catch (error) {
      Xc.dispose();
      yc?.dispose();
      throw error;
    }
    entry = { step, X: Xc, y: yc, state };
    this.captures.set(key, entry);
    if (this.captures.size > MAX_CAPTURES) {
      const [oldest, old] = this.captures.entries().next().value as [string, CapturedEntry];
      this.disposeEntry(oldest, old);
    }
    return entry;
  }

  private disposeEntry(key: string, entry: CapturedEntry): void {
    const { scores, loss, grads } = entry.step.result;
    entry.step.dispose();
    // The step's results are ordinary tensors (loss() hands out copies of them): freed with it.
    for (const t of [scores, loss, ...Object.values(grads ?? {})]) t?.dispose();
    entry.X.dispose();
    entry.y?.dispose();
    this.captures.delete(key);
  }

  /**
   * What a captured step of this model bakes in: the parameter tensors, whether the L2 terms are
   * there, and each batchnorm layer's running-average tensors, eps and momentum (static uniforms).
   * A step is replayed only while this is unchanged (the Solver's step too).
   */
  captureState(): unknown[] {
    return [
      ...Object.entries(this.params).flat(),
      this.reg !== 0,
      ...this.bnParams.flatMap((bn) => [bn.runningMean, bn.runningVar, bn.eps, bn.momentum]),
    ];
  }

  /** Whether a state from captureState() still holds (and none of its tensors was disposed). */
  captureStateIs(state: readonly unknown[]): boolean {
    const now = this.captureState();
    return now.length === state.length && now.every((v, i) => v === state[i] && !(v instanceof Tensor && v.disposed));
  }

  /** Forward in test mode: scores (N, C). */
  scorePass(X: Tensor): Tensor {
    for (const bn of this.bnParams) bn.mode = 'test';
    for (const dp of this.dropoutParams) dp.mode = 'test';
    const tape = new Tape(this.engine, false);
    try {
      return tape.release(this.forward(tape, X));
    } finally {
      tape.dispose();
    }
  }

  /** Forward and backward in train mode: loss (one element) and a gradient per parameter. */
  trainPass(X: Tensor, y: Tensor, options: TrainPassOptions = {}): TrainResult {
    const engine = this.engine;
    const into = this.gradTargets(options.gradsInto, [X, y]);
    for (const bn of this.bnParams) bn.mode = 'train';
    for (const dp of this.dropoutParams) dp.mode = 'train';
    const tape = new Tape(engine);
    let loss: Tensor;
    let leafGrads: Map<Tensor, Tensor>;
    try {
      for (const t of Object.values(this.params)) tape.watch(t);
      const scores = this.forward(tape, X);
      const out = classificationLoss(engine, 'softmax', scores, y);
      loss = out.loss;
      const weights = Array.from({ length: this.numLayers }, (_, i) => this.params[`W${i + 1}`]!);
      if (this.reg !== 0) {
        for (const W of weights) sumAllInto(engine, loss, W, { square: true, scale: () => 0.5 * this.reg });
      }
      leafGrads = tape.backward(scores, out.dx, into);
      out.dx.dispose();
    } finally {
      tape.dispose();
    }
    const grads: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(this.params)) {
      const g = leafGrads.get(t);
      if (!g) throw new ShadergradError(this.modelName, `no gradient reached ${name}`);
      grads[name] = g;
    }
    if (this.reg !== 0) {
      for (let l = 1; l <= this.numLayers; l++) axpyInPlace(engine, grads[`W${l}`]!, this.params[`W${l}`]!, () => this.reg);
    }
    return { loss, grads };
  }

  /** `gradsInto` checked and keyed by parameter tensor (before any GPU work). */
  private gradTargets(gradsInto: Record<string, Tensor> | undefined, inputs: readonly Tensor[]): Map<Tensor, Tensor> | undefined {
    if (gradsInto === undefined) return undefined;
    const op = `${this.modelName}.trainPass`;
    if (typeof gradsInto !== 'object' || gradsInto === null) throw new ShadergradError(op, `gradsInto must be an object of tensors by parameter name, got ${typeName(gradsInto)}`);
    const entries = Object.entries(gradsInto);
    // Each target on its own first: a Tensor of this engine, alive, f32 of its parameter's shape.
    for (const [name, t] of entries) {
      const param = Object.hasOwn(this.params, name) ? this.params[name] : undefined;
      if (!param) throw new ShadergradError(op, `gradsInto.${name} names no parameter (the parameters: ${Object.keys(this.params).join(', ')})`);
      checkTensors(op, [['a parameter', param], [`gradsInto.${name}`, t]]);
      if (t.dtype !== 'f32' || fmt(t.shape) !== fmt(param.shape)) {
        throw new ShadergradError(op, `gradsInto.${name} must be an f32 tensor of shape ${fmt(param.shape)}, got ${t.dtype} ${fmt(t.shape)}`);
      }
    }
    // Then against everything the pass reads or the other targets: a target written mid-pass must not be read by it.
    const params = new Set(Object.values(this.params).map((p) => p.storageFor(op)));
    const read = new Set(inputs.map((t) => t.packedStorageFor(op)));
    const targets = new Map<Tensor, Tensor>();
    for (const [name, t] of entries) {
      const storage = t.storageFor(op);
      if (params.has(storage)) throw new ShadergradError(op, `gradsInto.${name} shares its GPU buffer with the parameters`);
      if (read.has(storage)) throw new ShadergradError(op, `gradsInto.${name} shares its GPU buffer with the input X or y`);
      for (const [other, u] of entries) {
        if (other === name || u.storageFor(op) !== storage) continue;
        if (t.byteOffset < u.byteOffset + u.byteLength && u.byteOffset < t.byteOffset + t.byteLength) {
          throw new ShadergradError(op, `gradsInto.${name} and gradsInto.${other} overlap: one would overwrite the other`);
        }
      }
      const param = this.params[name]!;
      if (targets.has(param)) throw new ShadergradError(op, `gradsInto.${name}: its parameter is also another name's (tied parameters have one gradient)`);
      targets.set(param, t);
    }
    return targets;
  }

  /** The layers, applied through the tape; returns the scores. */
  private forward(tape: Tape, X: Tensor): Tensor {
    const p = this.params;
    let h = X;
    for (let l = 1; l < this.numLayers; l++) {
      const [W, b] = [p[`W${l}`]!, p[`b${l}`]!];
      if (this.useBatchnorm) {
        const a = tape.apply(affine, [h, W, b, false], { dx: h, dw: W, db: b });
        const [gamma, beta] = [p[`gamma${l}`]!, p[`beta${l}`]!];
        // Batchnorm with the ReLU fused into its normalization kernel.
        h = tape.apply(batchnorm, [a, gamma, beta, this.bnParams[l - 1]!, true], { dx: a, dgamma: gamma, dbeta: beta });
      } else {
        h = tape.apply(affine, [h, W, b, true], { dx: h, dw: W, db: b });
      }
      if (this.dropoutP > 0) h = tape.apply(dropout, [h, this.dropoutParams[l - 1]!], { dx: h });
    }
    const L = this.numLayers;
    return tape.apply(affine, [h, p[`W${L}`]!, p[`b${L}`]!, false], { dx: h, dw: p[`W${L}`]!, db: p[`b${L}`]! });
  }

  /**
   * Throws, naming `op`, unless X is a live f32 (N, …) tensor (8-bit packed allowed) of this model's
   * Engine with inputDim features per row, and y (when given) i32 of shape [N]. `names`: what the
   * message calls them (the Solver's data.XTrain and data.yTrain).
   */
  checkBatch(op: string, X: Tensor, y?: Tensor, names: readonly [string, string] = ['X', 'y']): void {
    const [xName, yName] = names;
    if (checkTensors(op, [[xName, X], ...(y !== undefined ? [[yName, y] as const] : [])], { packed: [xName] }) !== this.engine) {
      throw new ShadergradError(op, `${xName} belongs to another Engine than the model`);
    }
    if (X.dtype !== 'f32' || X.rank < 2 || rowSize(X.shape) !== this.inputDim) {
      throw new ShadergradError(op, `${xName} must be f32 (N, …) with ${this.inputDim} features per row, got ${X.dtype} ${fmt(X.shape)}`);
    }
    if (y !== undefined && (y.dtype !== 'i32' || y.rank !== 1 || y.shape[0] !== X.shape[0])) {
      throw new ShadergradError(op, `${yName} must be i32 of shape [${X.shape[0]}], got ${y.dtype} ${fmt(y.shape)}`);
    }
  }

  private checkInputs(X: Tensor, y: Tensor | undefined, name = `${this.modelName}.loss`): void {
    checkReg(name, this.reg);
    this.checkBatch(name, X, y);
    this.checkParams(name);
  }

  private checkParams(name: string): void {
    const expected = this.expectedShapes();
    for (const [key, shape] of Object.entries(expected)) {
      const t = this.params[key];
      if (!t) throw new ShadergradError(name, `params.${key} is missing`);
      if (!(t instanceof Tensor)) throw new ShadergradError(name, `params.${key} must be a Tensor, got ${typeName(t)}`);
      if (t.disposed) throw new ShadergradError(name, `params.${key} was disposed`);
      if (t.engine !== this.engine) throw new ShadergradError(name, `params.${key} belongs to another Engine than the model`);
      if (t.format !== 'native') throw new ShadergradError(name, `params.${key} holds packed 8-bit data; parameters must be plain f32 tensors`);
      if (t.dtype !== 'f32' || t.shape.join() !== shape.join()) {
        throw new ShadergradError(name, `params.${key} must be f32 ${fmt(shape)}, got ${t.dtype} ${fmt(t.shape)}`);
      }
    }
    for (const key of Object.keys(this.params)) {
      if (!(key in expected)) throw new ShadergradError(name, `unknown parameter params.${key}`);
    }
  }

  /** Frees the parameters, running averages and captured steps. */
  dispose(): void {
    for (const [key, entry] of [...this.captures]) this.disposeEntry(key, entry);
    for (const t of new Set([...Object.values(this.params), ...this.owned])) t.dispose();
    this.owned.clear();
    for (const bn of this.bnParams) {
      bn.runningMean?.dispose();
      bn.runningVar?.dispose();
    }
  }
}

/** reg is writable: checked when the model is made and at each call. */
function checkReg(name: string, reg: unknown): void {
  if (typeof reg !== 'number' || !(reg >= 0 && reg <= F32_MAX)) {
    throw new ShadergradError(name, `reg must be a finite f32 number ≥ 0, got ${show(reg)}`);
  }
}
