// Training-step benchmark of shadergrad alone, the train suite's step: `node bench/node.mjs bench/train-step.ts [--steps N] [--batch B] [--plain] [--forward-backward] [--profile]`.

import { Engine } from '../src/engine/engine';
import { ALL_VARIANTS, MODEL, initialWeights, seededArray, seededLabels, trainCases } from './lib/cases';
import { ShadergradBench } from './lib/shadergrad';

export interface StepBenchRow {
  case: string;
  /** Wall-clock milliseconds per step, steady state (steps queued back to back, one sync at the end). */
  ms: number;
  samplesPerSec: number;
  /** CPU milliseconds spent in replay(): hooks, uniform upload, encoding and submit (median). */
  encodeMs: number;
  /** Milliseconds for the first (capturing) step, pipeline compilation included. */
  firstStepMs: number;
  dispatchesPerStep: number;
}

export interface StepBenchOptions {
  batch?: number;
  steps?: number;
  variants?: Array<{ batchnorm: boolean; dropout: boolean }>;
  /** false: forward and backward only, without the Adam update (issue 3's measurement). */
  update?: boolean;
}

/** FullyConnectedNet 784-512-256-10: the train suite's captured step (forward, backward, Adam), replayed `steps` times. */
export async function trainStepBench(engine: Engine, options: StepBenchOptions = {}): Promise<StepBenchRow[]> {
  const { batch = 256, steps = 10, update = true } = options;
  const bench = new ShadergradBench(engine);
  const rows: StepBenchRow[] = [];
  for (const c of trainCases([batch], options.variants ?? ALL_VARIANTS)) {
    const X = seededArray(batch * MODEL.inputDim, 31);
    const y = seededLabels(batch, MODEL.numClasses, 32);
    const step = bench.train(c, initialWeights(c.batchnorm), X, y, { update });
    let t0 = performance.now();
    step.run();
    await step.sync();
    const firstStepMs = performance.now() - t0;
    step.run();
    await step.sync();
    t0 = performance.now();
    for (let i = 0; i < steps; i++) step.run();
    await step.sync();
    const ms = (performance.now() - t0) / steps;
    const extras = step.extras();
    rows.push({ case: c.name, ms, samplesPerSec: (batch / ms) * 1000, encodeMs: extras.encodeMs!, firstStepMs, dispatchesPerStep: extras.dispatches! });
    step.dispose();
  }
  return rows;
}

const USAGE = 'usage: train-step.ts [--steps N] [--batch B] [--plain] [--forward-backward] | --profile [--batch B] [--batchnorm] [--dropout]';

/** Checks the flags before the GPU is touched: a misspelt one is an error, not the default. */
export function parseStepArgs(args: string[]): { steps: number; batch: number; flags: Set<string> } {
  const valued = new Set(['--steps', '--batch']);
  const switches = new Set(['--plain', '--forward-backward', '--profile', '--batchnorm', '--dropout']);
  const values: Record<string, number> = { '--steps': 10, '--batch': 256 };
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (valued.has(a)) {
      const v = Number(args[++i]);
      if (!(Number.isInteger(v) && v > 0)) throw new Error(`train-step: ${a} needs a positive integer, got ${JSON.stringify(args[i])}\n${USAGE}`);
      values[a] = v;
    } else if (switches.has(a)) flags.add(a);
    else throw new Error(`train-step: unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  return { steps: values['--steps']!, batch: values['--batch']!, flags };
}

export async function main(args: string[]): Promise<void> {
  const { steps, batch, flags } = parseStepArgs(args);
  const engine = await Engine.create();
  const { vendor, architecture, description } = engine.adapterInfo;
  console.log(`adapter: ${vendor} ${architecture} ${description}`);
  const update = !flags.has('--forward-backward');
  if (flags.has('--profile')) {
    await profileStep(engine, batch, flags.has('--batchnorm'), flags.has('--dropout'), update);
    engine.destroy();
    return;
  }
  const variants = flags.has('--plain') ? [ALL_VARIANTS[0]!] : undefined;
  const rows = await trainStepBench(engine, { steps, batch, variants, update });
  console.table(rows.map((r) => ({ ...r, ms: +r.ms.toFixed(2), samplesPerSec: Math.round(r.samplesPerSec), encodeMs: +r.encodeMs.toFixed(3), firstStepMs: Math.round(r.firstStepMs) })));
  engine.destroy();
}

/** Prints the GPU time of each kernel of one captured training step (timestamp queries). */
async function profileStep(engine: Engine, batch: number, batchnorm: boolean, dropout: boolean, update: boolean): Promise<void> {
  const bench = new ShadergradBench(engine);
  const [c] = trainCases([batch], [{ batchnorm, dropout }]);
  const step = bench.train(c!, initialWeights(batchnorm), seededArray(batch * MODEL.inputDim, 31), seededLabels(batch, MODEL.numClasses, 32), { update });
  step.run();
  await step.sync();
  await engine.profile(step.step!);
  const times = await engine.profile(step.step!);
  const total = times.reduce((a, t) => a + t.ms, 0);
  console.table(times.map((t) => ({ kernel: t.kernel, ms: +t.ms.toFixed(3), share: `${((100 * t.ms) / total).toFixed(1)}%` })));
  console.log(`${c!.name}${update ? '' : ' (forward + backward only)'}: total GPU time ${total.toFixed(2)} ms over ${times.length} dispatches`);
  step.dispose();
}
