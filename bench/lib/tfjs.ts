// The TensorFlow.js peer: @tensorflow/tfjs-core with @tensorflow/tfjs-backend-webgpu, on its own device from navigator.gpu.

import type * as TF from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { ADAM, BN_EPS, BN_MOMENTUM, DROPOUT_P, MODEL, type ElementwiseCase, type MatmulCase, type TrainCase, type Weights } from './cases';
import type { ImplBench, ReadableRunnable, TrainRunnable } from './impl';
import type { Runnable } from './measure';
import type { ImplInfo } from './types';

type Tf = typeof TF;

/** A runnable over one tfjs computation whose previous result is freed before each run. */
class TfRunnable implements Runnable {
  last: TF.Tensor | null = null;

  constructor(
    readonly bench: TfjsBench,
    readonly compute: () => TF.Tensor,
    readonly owned: TF.Tensor[] = [],
  ) {}

  run(): void {
    this.last?.dispose();
    this.last = this.compute();
  }

  sync(): Promise<void> {
    return this.bench.sync();
  }

  /** tf.time: tfjs puts each program in its own timestamped pass and sums them (kernelMs). */
  async gpuMs(): Promise<number | null> {
    if (!this.bench.timestamps) return null;
    const info = await this.bench.tf.time(() => this.run());
    return typeof info.kernelMs === 'number' ? info.kernelMs : null;
  }

  async read(): Promise<Float32Array> {
    return (await this.last!.data()) as Float32Array;
  }

  dispose(): void {
    this.last?.dispose();
    this.last = null;
    for (const t of this.owned) t.dispose();
  }
}

export class TfjsBench implements ImplBench {
  readonly impl = 'tfjs-webgpu' as const;

  private constructor(
    readonly tf: Tf,
    readonly backend: WebGPUBackend,
  ) {}

  /** Whether tfjs got 'timestamp-query' on its device (tf.time then reports kernelMs). */
  get timestamps(): boolean {
    return this.backend.device.features.has('timestamp-query');
  }

  /** Loads tfjs, selects the WebGPU backend and checks that it is the one in use. */
  static async create(): Promise<TfjsBench> {
    const tf = await import('@tensorflow/tfjs-core');
    // tfjs-core alone registers no gradients (the @tensorflow/tfjs bundle imports these).
    await import('@tensorflow/tfjs-core/dist/register_all_gradients');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed (no WebGPU adapter for tfjs?)");
    await tf.ready();
    if (tf.getBackend() !== 'webgpu') throw new Error(`tf.getBackend() is ${tf.getBackend()}, not webgpu`);
    return new TfjsBench(tf, tf.backend() as unknown as WebGPUBackend);
  }

  info(): ImplInfo {
    // tfjs keeps only the vendor and architecture; the device it made knows its adapter whole
    // (GPUDevice.adapterInfo: Chrome 132+, Dawn's Node package), description included.
    type Info = { vendor?: string; architecture?: string; description?: string };
    const a = (this.backend.device as unknown as { adapterInfo?: Info }).adapterInfo ?? (this.backend as unknown as { adapterInfo?: Info }).adapterInfo;
    return {
      impl: this.impl,
      version: this.tf.version_core,
      backend: this.tf.getBackend(),
      adapter: { vendor: a?.vendor ?? '', architecture: a?.architecture ?? '', description: a?.description ?? '' },
      timestampQuery: this.timestamps,
    };
  }

  /** Submits what tfjs has recorded and waits for the queue (what tfjs itself does before a read, without the read). */
  async sync(): Promise<void> {
    const b = this.backend;
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    b.submitQueue();
    await b.device.queue.onSubmittedWorkDone();
  }

  matmul(c: MatmulCase, a: Float32Array, b: Float32Array): ReadableRunnable {
    const tf = this.tf;
    const A = tf.tensor2d(a, c.transA ? [c.K, c.M] : [c.M, c.K]);
    const B = tf.tensor2d(b, c.transB ? [c.N, c.K] : [c.K, c.N]);
    return new TfRunnable(this, () => tf.matMul(A, B, c.transA, c.transB), [A, B]);
  }

  elementwise(c: ElementwiseCase, x: Float32Array, dy: Float32Array): ReadableRunnable {
    const tf = this.tf;
    const X = tf.tensor1d(x);
    const D = tf.tensor1d(dy);
    const compute =
      c.op === 'relu-forward'
        ? () => tf.relu(X)
        : c.op === 'relu-backward'
          ? // tfjs's own gradient of Relu: dy · step(x) (two programs).
            () => tf.tidy(() => tf.mul(D, tf.step(X)))
          : // tf.dropout draws its uniform mask on the CPU (randomUniform) and uploads it, then scales on the GPU.
            () => tf.dropout(X, DROPOUT_P);
    return new TfRunnable(this, compute, [X, D]);
  }

  /** optimizer.minimize with tf.train.adam over variables; the loss is awaited only when timing needs a sync. */
  train(c: TrainCase, weights: Weights, X: Float32Array, y: Int32Array): TrainRunnable {
    const tf = this.tf;
    const vars: Record<string, TF.Variable> = {};
    for (const [name, { data, shape }] of Object.entries(weights)) vars[name] = tf.variable(tf.tensor(data, shape), true, `bench_${name}_${tfjsNames++}`);
    const xs = tf.tensor2d(X, [c.batch, MODEL.inputDim]);
    const labels = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), MODEL.numClasses), 'float32'));
    const layers = MODEL.hiddenDims.length + 1;
    const running: TF.Variable[] = [];
    for (let l = 1; c.batchnorm && l < layers; l++) {
      const d = MODEL.hiddenDims[l - 1]!;
      running.push(tf.variable(tf.zeros([d]), false), tf.variable(tf.zeros([d]), false));
    }
    const optimizer = tf.train.adam(ADAM.learningRate, ADAM.beta1, ADAM.beta2, ADAM.epsilon);
    const loss = (): TF.Scalar => {
      let h: TF.Tensor = xs;
      for (let l = 1; l < layers; l++) {
        let a: TF.Tensor = tf.add(tf.matMul(h as TF.Tensor2D, vars[`W${l}`] as TF.Tensor2D), vars[`b${l}`]!);
        if (c.batchnorm) {
          const { mean, variance } = tf.moments(a, 0);
          const [rm, rv] = [running[2 * (l - 1)]!, running[2 * (l - 1) + 1]!];
          rm.assign(tf.add(tf.mul(rm, BN_MOMENTUM), tf.mul(mean, 1 - BN_MOMENTUM)));
          rv.assign(tf.add(tf.mul(rv, BN_MOMENTUM), tf.mul(variance, 1 - BN_MOMENTUM)));
          a = tf.batchNorm(a, mean, variance, vars[`beta${l}`]!, vars[`gamma${l}`]!, BN_EPS);
        }
        h = tf.relu(a);
        if (c.dropout) h = tf.dropout(h, DROPOUT_P);
      }
      const scores = tf.add(tf.matMul(h as TF.Tensor2D, vars[`W${layers}`] as TF.Tensor2D), vars[`b${layers}`]!);
      return tf.losses.softmaxCrossEntropy(labels, scores) as TF.Scalar;
    };
    const varList = Object.values(vars);
    const r = new TfRunnable(this, () => optimizer.minimize(loss, true, varList)!, [xs, labels, ...varList, ...running]);
    const dispose = r.dispose.bind(r);
    return Object.assign(r, {
      loss: async () => (await r.last!.data())[0]!,
      dispose: () => {
        dispose();
        optimizer.dispose();
      },
    });
  }

  destroy(): void {
    this.tf.disposeVariables();
    this.tf.engine().reset();
  }
}

let tfjsNames = 0;
