// The jax-js peer: @jax-js/jax on its WebGPU device, every case a jit-compiled function.

import type * as JAX from '@jax-js/jax';
import { ADAM, BN_EPS, BN_MOMENTUM, DROPOUT_P, MODEL, type ElementwiseCase, type MatmulCase, type TrainCase, type Weights } from './cases';
import type { ImplBench, ReadableRunnable, TrainRunnable } from './impl';
import type { Runnable } from './measure';
import type { ImplInfo } from './types';

type Jax = typeof JAX;
type Arr = JAX.Array;
type Tree = Record<string, Arr>;

/** A runnable over a jitted computation: runs keep their outputs until sync() waits for them. */
class JaxRunnable implements Runnable {
  pending: Arr[] = [];
  last: Arr | null = null;
  /** jax-js is lazy: every queued run's output (and its buffers) lives until sync(); keep that under ~256 MB. */
  readonly maxReps: number;

  constructor(
    readonly bench: JaxBench,
    readonly compute: () => Arr,
    readonly owned: Array<{ dispose(): void }> = [],
    outputBytes = 0,
    maxReps = 256,
  ) {
    this.maxReps = Math.max(1, Math.min(maxReps, Math.floor(2 ** 28 / Math.max(1, outputBytes))));
  }

  run(): void {
    const out = this.compute();
    this.pending.push(out);
  }

  async sync(): Promise<void> {
    const outs = this.pending;
    this.pending = [];
    if (!outs.length) return;
    await this.bench.jax.blockUntilReady(outs);
    this.last?.dispose();
    this.last = outs.pop()!;
    for (const o of outs) o.dispose();
  }

  /** jax-js's profiler: timestamp queries around each of its dispatches, reported through performance.measure. */
  async gpuMs(): Promise<number | null> {
    return this.bench.traced(async () => {
      this.run();
      await this.sync();
    });
  }

  async read(): Promise<Float32Array> {
    await this.sync();
    return (await this.last!.ref.data()) as Float32Array;
  }

  dispose(): void {
    for (const o of [...this.pending, ...(this.last ? [this.last] : [])]) o.dispose();
    this.pending = [];
    this.last = null;
    for (const t of this.owned) t.dispose();
  }
}

export class JaxBench implements ImplBench {
  readonly impl = 'jax-js' as const;

  private constructor(
    readonly jax: Jax,
    readonly device: GPUDevice,
  ) {}

  /** Loads jax-js, initialises its WebGPU backend and makes it the default device. */
  static async create(): Promise<JaxBench> {
    const jax = await import('@jax-js/jax');
    const devices = await jax.init('webgpu');
    if (!devices.includes('webgpu')) throw new Error(`jax-js found no WebGPU device (init gave ${devices.join(', ') || 'nothing'})`);
    jax.defaultDevice('webgpu');
    const probe = jax.numpy.zeros([1]);
    const device = probe.device;
    probe.dispose();
    if (device !== 'webgpu') throw new Error(`jax-js arrays land on ${device}, not webgpu`);
    return new JaxBench(jax, jax.getWebGPUDevice());
  }

  info(): ImplInfo {
    const a = (this.device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const probe = this.jax.numpy.zeros([1]);
    const backend = probe.device;
    probe.dispose();
    return {
      impl: this.impl,
      version: '0.1.25',
      backend,
      adapter: { vendor: a?.vendor ?? '', architecture: a?.architecture ?? '', description: a?.description ?? '' },
      timestampQuery: this.device.features.has('timestamp-query'),
    };
  }

  /** Runs `work` with jax-js's tracing on and returns the sum of the GPU intervals it reported (null without timestamp-query). */
  async traced(work: () => Promise<void>): Promise<number | null> {
    if (!this.device.features.has('timestamp-query')) return null;
    performance.clearMeasures();
    this.jax.profiler.startTrace();
    try {
      await work();
    } finally {
      this.jax.profiler.stopTrace();
    }
    // The trace batches are resolved and mapped asynchronously after the work: wait for their entries.
    await this.device.queue.onSubmittedWorkDone();
    let entries: PerformanceEntry[] = [];
    for (let i = 0; i < 100; i++) {
      entries = performance.getEntriesByType('measure').filter((m) => (m as PerformanceMeasure).detail?.devtools?.track === 'webgpu');
      if (entries.length) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Settle: let any later batch land too.
    await new Promise((resolve) => setTimeout(resolve, 20));
    entries = performance.getEntriesByType('measure').filter((m) => (m as PerformanceMeasure).detail?.devtools?.track === 'webgpu');
    performance.clearMeasures();
    return entries.length ? entries.reduce((a, m) => a + m.duration, 0) : null;
  }

  private array(data: Float32Array, shape: number[]): Arr {
    return this.jax.numpy.array(data).reshape(shape);
  }

  matmul(c: MatmulCase, a: Float32Array, b: Float32Array): ReadableRunnable {
    const { numpy: np, jit } = this.jax;
    const A = this.array(a, c.transA ? [c.K, c.M] : [c.M, c.K]);
    const B = this.array(b, c.transB ? [c.N, c.K] : [c.K, c.N]);
    const f = jit((x: Arr, y: Arr) => np.matmul(c.transA ? np.transpose(x) : x, c.transB ? np.transpose(y) : y));
    return new JaxRunnable(this, () => f(A.ref, B.ref), [A, B, f], 4 * c.M * c.N);
  }

  elementwise(c: ElementwiseCase, x: Float32Array, dy: Float32Array): ReadableRunnable {
    const { numpy: np, nn, random, jit } = this.jax;
    const X = this.array(x, [x.length]);
    const D = this.array(dy, [dy.length]);
    if (c.op === 'relu-forward') {
      const f = jit((v: Arr) => nn.relu(v));
      return new JaxRunnable(this, () => f(X.ref), [X, D, f], 4 * c.n);
    }
    if (c.op === 'relu-backward') {
      const f = jit((v: Arr, d: Arr) => np.where(np.greater(v, 0), d, 0));
      return new JaxRunnable(this, () => f(X.ref, D.ref), [X, D, f], 4 * c.n);
    }
    let seed = 0;
    const keep = 1 - DROPOUT_P;
    const f = jit((k: Arr, v: Arr) => np.where(random.bernoulli(k, keep, [c.n]), v.mul(1 / keep), 0));
    return new JaxRunnable(this, () => f(random.key(++seed), X.ref), [X, D, f], 4 * c.n);
  }

  /**
   * One jit-compiled function per step: valueAndGrad of the loss, then Adam on every parameter
   * (bias corrections passed in as scalars); parameters and moments are replaced by its outputs.
   */
  train(c: TrainCase, weights: Weights, X: Float32Array, y: Int32Array): TrainRunnable {
    const { numpy: np, nn, random, tree, jit, valueAndGrad } = this.jax;
    const B = c.batch;
    const layers = MODEL.hiddenDims.length + 1;
    let params: Tree = {};
    for (const [name, { data, shape }] of Object.entries(weights)) params[name] = this.array(data, shape);
    let m: Tree = tree.map((p: Arr) => np.zerosLike(p.ref), params) as Tree;
    let v: Tree = tree.map((p: Arr) => np.zerosLike(p.ref), params) as Tree;
    let running: Arr[] = [];
    for (let l = 1; c.batchnorm && l < layers; l++) running.push(np.zeros([MODEL.hiddenDims[l - 1]!]), np.zeros([MODEL.hiddenDims[l - 1]!]));
    const xs = this.array(X, [B, MODEL.inputDim]);
    const labels = nn.oneHot(np.array(y, { dtype: np.int32 }), MODEL.numClasses);
    const keep = 1 - DROPOUT_P;

    const lossFn = (p: Tree, x: Arr, y1h: Arr, keys: Arr[]): [Arr, Arr[]] => {
      let h = x;
      const stats: Arr[] = [];
      for (let l = 1; l < layers; l++) {
        let a = np.matmul(h, p[`W${l}`]!).add(p[`b${l}`]!);
        if (c.batchnorm) {
          const mean = np.mean(a.ref, 0);
          const variance = np.var_(a.ref, 0);
          stats.push(mean.ref, variance.ref);
          a = a.sub(mean).div(np.sqrt(variance.add(BN_EPS))).mul(p[`gamma${l}`]!).add(p[`beta${l}`]!);
        }
        h = nn.relu(a);
        const key = keys[l - 1]!;
        if (c.dropout) h = np.where(random.bernoulli(key, keep, h.shape), h.mul(1 / keep), 0);
        else key.dispose();
      }
      const scores = np.matmul(h, p[`W${layers}`]!).add(p[`b${layers}`]!);
      const loss = nn.logSoftmax(scores, -1).mul(y1h).sum().mul(-1 / B);
      return [loss, stats];
    };
    const { learningRate: lr, beta1, beta2, epsilon } = ADAM;
    const step = jit((p: Tree, mo: Tree, ve: Tree, run: Arr[], x: Arr, y1h: Arr, keys: Arr[], c1: Arr, c2: Arr) => {
      const [[loss, stats], g] = valueAndGrad(lossFn, { hasAux: true })(tree.ref(p), x, y1h, keys) as [[Arr, Arr[]], Tree];
      const nextP: Tree = {};
      const nextM: Tree = {};
      const nextV: Tree = {};
      for (const k of Object.keys(p)) {
        const gk = g[k]!;
        nextM[k] = mo[k]!.mul(beta1).add(gk.ref.mul(1 - beta1));
        nextV[k] = ve[k]!.mul(beta2).add(gk.ref.mul(gk).mul(1 - beta2));
        const update = nextM[k]!.ref.mul(c1.ref).div(np.sqrt(nextV[k]!.ref.mul(c2.ref)).add(epsilon)).mul(lr);
        nextP[k] = p[k]!.sub(update);
      }
      c1.dispose();
      c2.dispose();
      const nextRun = run.map((r, i) => r.mul(BN_MOMENTUM).add(stats[i]!.mul(1 - BN_MOMENTUM)));
      return [loss, nextP, nextM, nextV, nextRun] as [Arr, Tree, Tree, Tree, Arr[]];
    });
    let t = 0;
    const compute = (): Arr => {
      t++;
      const keys = Array.from({ length: layers - 1 }, (_, i) => random.key(t * 8 + i));
      const [loss, p2, m2, v2, r2] = step(params, m, v, running, xs.ref, labels.ref, keys, np.array(1 / (1 - beta1 ** t)), np.array(1 / (1 - beta2 ** t)));
      [params, m, v, running] = [p2, m2, v2, r2];
      return loss;
    };
    const r = new JaxRunnable(this, compute, [
      xs,
      labels,
      step,
      { dispose: () => [params, m, v, running].forEach((t) => tree.dispose(t)) },
    ], 0, 32);
    return Object.assign(r, {
      loss: async () => {
        await r.sync();
        return (await r.last!.ref.data())[0]!;
      },
    });
  }

  destroy(): void {}
}
