// Training-step benchmark: FullyConnectedNet 784-512-256-10 forward + backward, captured and replayed.

import { Engine } from '../src/engine/engine';
import { FullyConnectedNet } from '../src/models/fully-connected-net';
import { Random } from '../src/random';

export interface StepBenchRow {
  case: string;
  /** Wall-clock milliseconds per step, steady state (steps queued back to back, one sync at the end). */
  ms: number;
  samplesPerSec: number;
  /** CPU milliseconds spent in replay(): hooks, uniform upload, encoding and submit. */
  encodeMs: number;
  /** Milliseconds for the first (capturing) step, pipeline compilation included. */
  firstStepMs: number;
  dispatchesPerStep: number;
}

export interface StepBenchOptions {
  batch?: number;
  hidden?: number[];
  steps?: number;
  variants?: Array<{ batchnorm: boolean; dropout: number }>;
}

export async function trainStepBench(engine: Engine, options: StepBenchOptions = {}): Promise<StepBenchRow[]> {
  const { batch = 256, hidden = [512, 256], steps = 10 } = options;
  const variants = options.variants ?? [
    { batchnorm: false, dropout: 0 },
    { batchnorm: true, dropout: 0 },
    { batchnorm: false, dropout: 0.5 },
    { batchnorm: true, dropout: 0.5 },
  ];
  const rng = new Random(1);
  const X = engine.tensor(rng.normals(batch * 784), [batch, 784]);
  const y = engine.tensor(Int32Array.from({ length: batch }, () => rng.int(10)));
  const rows: StepBenchRow[] = [];
  for (const { batchnorm, dropout } of variants) {
    const model = new FullyConnectedNet(engine, { hiddenDims: hidden, inputDim: 784, numClasses: 10, batchnorm, dropout, weightScale: 0.05, reg: 1e-4 });
    let t0 = performance.now();
    const step = engine.capture(() => model.trainPass(X, y), 'bench.step');
    await engine.sync();
    const firstStepMs = performance.now() - t0;
    step.replay();
    await engine.sync();
    const encode: number[] = [];
    t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      const e0 = performance.now();
      step.replay();
      encode.push(performance.now() - e0);
    }
    await engine.sync();
    const ms = (performance.now() - t0) / steps;
    encode.sort((a, b) => a - b);
    const name = `${[784, ...hidden, 10].join('-')} b${batch}${batchnorm ? ' batchnorm' : ''}${dropout ? ' dropout' : ''}`;
    rows.push({ case: name, ms, samplesPerSec: (batch / ms) * 1000, encodeMs: encode[encode.length >> 1]!, firstStepMs, dispatchesPerStep: step.commands.length });
    step.dispose();
    model.dispose();
  }
  X.dispose();
  y.dispose();
  return rows;
}

/** `node bench/node.mjs bench/train-step.ts [--steps N] [--batch B]` prints a table. */
export async function main(args: string[]): Promise<void> {
  const arg = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const engine = await Engine.create();
  const { vendor, architecture, description } = engine.adapterInfo;
  console.log(`adapter: ${vendor} ${architecture} ${description}`);
  const variants = args.includes('--plain') ? [{ batchnorm: false, dropout: 0 }] : undefined;
  if (args.includes('--profile')) {
    await profileStep(engine, arg('batch', 256), args.includes('--batchnorm'), args.includes('--dropout') ? 0.5 : 0);
    engine.destroy();
    return;
  }
  const rows = await trainStepBench(engine, { steps: arg('steps', 10), batch: arg('batch', 256), variants });
  console.table(rows.map((r) => ({ ...r, ms: +r.ms.toFixed(2), samplesPerSec: Math.round(r.samplesPerSec), encodeMs: +r.encodeMs.toFixed(3), firstStepMs: Math.round(r.firstStepMs) })));
  engine.destroy();
}

/** Prints the GPU time of each kernel of one captured training step (timestamp queries). */
async function profileStep(engine: Engine, batch: number, batchnorm: boolean, dropout: number): Promise<void> {
  const rng = new Random(1);
  const X = engine.tensor(rng.normals(batch * 784), [batch, 784]);
  const y = engine.tensor(Int32Array.from({ length: batch }, () => rng.int(10)));
  const model = new FullyConnectedNet(engine, { hiddenDims: [512, 256], inputDim: 784, numClasses: 10, batchnorm, dropout, weightScale: 0.05 });
  const step = engine.capture(() => model.trainPass(X, y), 'bench.step');
  await engine.sync();
  await engine.profile(step);
  const times = await engine.profile(step);
  const total = times.reduce((a, t) => a + t.ms, 0);
  console.table(times.map((t) => ({ kernel: t.kernel, ms: +t.ms.toFixed(3), share: `${((100 * t.ms) / total).toFixed(1)}%` })));
  console.log(`total GPU time ${total.toFixed(2)} ms over ${times.length} dispatches`);
}
