// shadergrad's side of the benchmark: each case as a captured step replayed per run, timed by engine.profile where the adapter has timestamps.

import { version } from '../../package.json';
import { CapturedStep, Engine } from '../../src/engine/engine';
import { dropoutApply } from '../../src/kernels/dropout';
import { classificationLoss } from '../../src/kernels/loss';
import { matmul } from '../../src/kernels/matmul';
import { reluBackward, reluForward } from '../../src/kernels/relu';
import * as layers from '../../src/layers/index';
import { FullyConnectedNet } from '../../src/models/fully-connected-net';
import * as optim from '../../src/optim/index';
import type { Tensor } from '../../src/tensor';
import { ADAM, BN_EPS, BN_MOMENTUM, DROPOUT_P, MODEL, type ElementwiseCase, type MatmulCase, type TrainCase, type Weights } from './cases';
import type { ImplBench, ReadableRunnable, TrainRunnable } from './impl';
import { median, type Runnable } from './measure';
import type { ImplInfo } from './types';

/**
 * A runnable over `record`: the first run captures it (pipeline compilation included), later runs
 * replay the step; `owned` tensors are freed with it.
 */
export class CapturedRunnable<T> implements Runnable {
  step: CapturedStep<T> | null = null;
  readonly encode: number[] = [];

  constructor(
    readonly engine: Engine,
    readonly record: () => T,
    readonly owned: Array<{ dispose(): void }> = [],
    readonly label = 'bench',
  ) {}

  run(): void {
    if (!this.step) {
      this.step = this.engine.capture(this.record, this.label);
      return;
    }
    const t0 = performance.now();
    this.step.replay();
    this.encode.push(performance.now() - t0);
  }

  async sync(): Promise<void> {
    await this.engine.sync();
  }

  async gpuMs(): Promise<number | null> {
    if (!this.engine.features.has('timestamp-query') || !this.step) return null;
    const times = await this.engine.profile(this.step);
    return times.reduce((a, t) => a + t.ms, 0);
  }

  extras(): Record<string, number> {
    const out: Record<string, number> = {};
    if (this.encode.length) out.encodeMs = median(this.encode);
    if (this.step) out.dispatches = this.step.commands.length;
    return out;
  }

  dispose(): void {
    this.step?.dispose();
    for (const t of this.owned) t.dispose();
  }
}

/** A runnable whose named outputs read back after a run (ours only: the batchnorm, softmax and optimizer suites). */
export interface OutputsRunnable extends Runnable {
  outputs(): Promise<Record<string, Float32Array>>;
}

/** Reads every tensor of a step's result, by name. */
async function readAll(tensors: Record<string, Tensor>): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = (await t.read()) as Float32Array;
  return out;
}

/** A captured step whose result tensor reads back (after a run). */
function readable(r: CapturedRunnable<Tensor>): CapturedRunnable<Tensor> & ReadableRunnable {
  return Object.assign(r, { read: () => r.step!.result.read() as Promise<Float32Array> });
}

export class ShadergradBench implements ImplBench {
  readonly impl = 'shadergrad' as const;

  constructor(readonly engine: Engine) {}

  static async create(): Promise<ShadergradBench> {
    return new ShadergradBench(await Engine.create());
  }

  info(): ImplInfo {
    const { vendor, architecture, description } = this.engine.adapterInfo;
    return {
      impl: this.impl,
      version,
      backend: 'webgpu',
      adapter: { vendor, architecture, description },
      timestampQuery: this.engine.features.has('timestamp-query'),
    };
  }

  matmul(c: MatmulCase, a: Float32Array, b: Float32Array): ReadableRunnable {
    const e = this.engine;
    const A = e.tensor(a, c.transA ? [c.K, c.M] : [c.M, c.K]);
    const B = e.tensor(b, c.transB ? [c.N, c.K] : [c.K, c.N]);
    return readable(new CapturedRunnable(e, () => matmul(e, A, B, { transA: c.transA, transB: c.transB }), [A, B], `bench.matmul`));
  }

  elementwise(c: ElementwiseCase, x: Float32Array, dy: Float32Array): ReadableRunnable {
    const e = this.engine;
    const X = e.tensor(x);
    const D = e.tensor(dy);
    let seed = 1;
    const record = (): Tensor => {
      if (c.op === 'relu-forward') return reluForward(e, X);
      if (c.op === 'relu-backward') return reluBackward(e, D, X);
      // A new mask per run, as a training step draws one (the seed is a uniform re-read at each replay).
      e.host(() => void seed++);
      return dropoutApply(e, X, DROPOUT_P, () => seed, 0);
    };
    return readable(new CapturedRunnable(e, record, [X, D], `bench.${c.op}`));
  }

  /**
   * Train-mode batchnorm of an N×D batch: forward (statistics, normalization, running averages) or
   * backward (dx, dgamma, dbeta). `runs()`: the forwards run so far, each moving the running averages.
   */
  batchnorm(N: number, D: number, direction: 'forward' | 'backward', x: Float32Array, dout: Float32Array): OutputsRunnable & { runs(): number } {
    const e = this.engine;
    const X = e.tensor(x, [N, D]);
    const dOut = e.tensor(dout, [N, D]);
    const gamma = e.tensor(new Float32Array(D).fill(1), [D]);
    const beta = e.zeros([D]);
    const bnParam: layers.BnParam = { mode: 'train', eps: BN_EPS, momentum: BN_MOMENTUM, runningMean: e.zeros([D]), runningVar: e.zeros([D]) };
    const owned: Array<{ dispose(): void }> = [X, dOut, gamma, beta, bnParam.runningMean!, bnParam.runningVar!];
    let runs = 0;
    if (direction === 'forward') {
      // A host hook counts the runs: it runs before every replay, profiled ones included.
      const record = () => {
        e.host(() => runs++);
        return layers.batchnormForward(X, gamma, beta, bnParam);
      };
      const r = new CapturedRunnable(e, record, owned, 'bench.batchnorm.forward');
      const outputs = () => readAll({ out: r.step!.result.out, runningMean: bnParam.runningMean!, runningVar: bnParam.runningVar! });
      return Object.assign(r, { outputs, runs: () => runs });
    }
    const { out, cache } = layers.batchnormForward(X, gamma, beta, bnParam);
    if (cache.mode !== 'train') throw new Error('batchnorm: expected a train-mode cache');
    owned.push(out, cache.xhat, cache.invStd);
    const r = new CapturedRunnable(e, () => layers.batchnormBackward(dOut, cache), owned, 'bench.batchnorm.backward');
    return Object.assign(r, { outputs: () => readAll(r.step!.result), runs: () => runs });
  }

  /** Softmax loss and its gradient for N×C scores. */
  softmax(N: number, C: number, scores: Float32Array, labels: Int32Array): OutputsRunnable {
    const e = this.engine;
    const X = e.tensor(scores, [N, C]);
    const y = e.tensor(labels);
    const r = new CapturedRunnable(e, () => classificationLoss(e, 'softmax', X, y), [X, y], 'bench.softmax');
    return Object.assign(r, { outputs: () => readAll(r.step!.result) });
  }

  /** One Adam update of n parameters as one flat dispatch; every run (and every profiled run) updates w again. */
  adam(w: Float32Array, dw: Float32Array): OutputsRunnable & { steps(): number } {
    const e = this.engine;
    const W = e.tensor(w);
    const dW = e.tensor(dw);
    const config: optim.AdamConfig = { ...ADAM };
    const r = new CapturedRunnable(e, () => optim.adam(W, dW, config), [W, dW, { dispose: () => [config.m, config.v].forEach((t) => t?.dispose()) }], 'bench.adam');
    // config.t counts the updates applied: its host hook advances it before each run, profiled ones included.
    return Object.assign(r, { outputs: () => readAll({ w: W }), steps: () => config.t ?? 0 });
  }

  /**
   * The Solver's step without the minibatch gather: forward, backward with the gradients written
   * into one slab, one Adam dispatch over the parameter slab, captured once and replayed. `update: false`
   * leaves the update out (forward and backward only).
   */
  train(c: TrainCase, weights: Weights, X: Float32Array, y: Int32Array, { update = true }: { update?: boolean } = {}): CapturedRunnable<Tensor> & TrainRunnable {
    const e = this.engine;
    const model = new FullyConnectedNet(e, {
      ...MODEL,
      hiddenDims: [...MODEL.hiddenDims],
      batchnorm: c.batchnorm,
      dropout: c.dropout ? DROPOUT_P : 0,
      reg: 0,
      seed: 1,
    });
    const assigned: Tensor[] = [];
    for (const [name, { data, shape }] of Object.entries(weights)) {
      const t = e.tensor(data, shape);
      assigned.push(t);
      model.params[name] = t;
    }
    if (c.dropout) model.seedDropout(1);
    const packed = model.packParams();
    e.flush(); // the copies into the slab are submitted before their sources go back to the pool
    for (const t of assigned) t.dispose();
    const gradSlab = e.slab(model.expectedShapes(), 'bench.grads');
    const Xt = e.tensor(X, [c.batch, MODEL.inputDim]);
    const yt = e.tensor(y);
    const config: optim.AdamConfig = { ...ADAM };
    const record = (): Tensor => {
      const { loss } = model.trainPass(Xt, yt, { gradsInto: gradSlab.views });
      if (update) optim.adam(packed.flat, gradSlab.flat, config);
      return loss;
    };
    const owned = [
      Xt,
      yt,
      gradSlab.flat,
      ...Object.values(gradSlab.views),
      { dispose: () => [config.m, config.v].forEach((t) => t?.dispose()) },
      model,
    ];
    const r = new CapturedRunnable(e, record, owned, `bench.train.${c.name}`);
    return Object.assign(r, { loss: async () => (await r.step!.result.read())[0]! });
  }

  destroy(): void {
    this.engine.destroy();
  }
}
