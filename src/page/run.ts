// A training run on the page: a model and its Solver, which waits at each epoch's end while the page looks at the model.

import { FullyConnectedNet, Solver, type Engine, type Progress } from '../index';
import type { GpuData, HostData } from './data';
import type { Settings } from './settings';

export interface RunHooks {
  /** Every report of the Solver (losses are read back every few iterations, accuracies at epoch ends). */
  progress(progress: Progress): void;
  /** After each epoch (the next step waits for it); the last epoch's once the Solver has put the best parameters into the model. */
  epochEnd(run: Run): Promise<void>;
  /** Whether the state is due to be kept, this long after it last was (at an epoch's end or here). */
  keepDue(msSinceKept: number): boolean;
  /** Inside a long epoch, when keepDue says so (the next step waits for it): keep the state for a lost device. */
  keep(run: Run): Promise<void>;
}

/** A Solver checkpoint kept on the host, and where in the run it was taken. */
export interface KeptCheckpoint {
  bytes: Uint8Array;
  epoch: number;
  iteration: number;
  /** Taken where the run was paused (or loaded): not at an epoch's end, nor during training. */
  paused: boolean;
}

export class Run {
  readonly model: FullyConnectedNet;
  readonly solver: Solver;
  /** The Solver's state after the last epoch, inside a long one, or where it was paused: a new device resumes from it. */
  lastCheckpoint: KeptCheckpoint | null = null;
  private pauseRequested = false;
  /** When the state was last kept (performance.now()), while training. */
  private keptAt = 0;
  private running: Promise<void> | null = null;

  constructor(
    readonly engine: Engine,
    data: GpuData,
    host: HostData,
    readonly settings: Settings,
    private readonly hooks: RunHooks,
    /** numEpochs: the schedule's length when it is not the form's (a loaded checkpoint's); reg: L2 strength when it is not the form's. */
    { numEpochs = settings.epochs, reg = settings.reg }: { numEpochs?: number; reg?: number } = {},
  ) {
    // One weight scale for every layer: He initialisation (√(2 / fan-in)) for the layers' mean fan-in,
    // which keeps the spiral's first loss near ln 3 and suits Fashion-MNIST's 784-wide input too.
    const fanIns = [host.inputDim, ...settings.hidden];
    const meanFanIn = fanIns.reduce((a, b) => a + b, 0) / fanIns.length;
    this.model = new FullyConnectedNet(engine, {
      hiddenDims: settings.hidden,
      inputDim: host.inputDim,
      numClasses: host.classNames.length,
      batchnorm: settings.batchnorm,
      dropout: settings.dropout,
      weightScale: Math.sqrt(2 / meanFanIn),
      reg,
      seed: settings.seed,
    });
    const perEpoch = Math.max(Math.floor(host.train.count / settings.batch), 1);
    try {
      this.solver = new Solver(
        this.model,
        { XTrain: data.XTrain, yTrain: data.yTrain, XVal: data.XVal, yVal: data.yVal },
        {
          updateRule: settings.update,
          optimConfig: { learningRate: settings.lr },
          lrDecay: settings.lrDecay,
          batchSize: settings.batch,
          numEpochs,
          numTrainSamples: 1000,
          numValSamples: null,
          // About eight loss read-backs per epoch: a smooth chart without stalling the GPU often.
          printEvery: Math.max(1, Math.min(10, Math.ceil(perEpoch / 8))),
          verbose: false,
          seed: settings.seed,
          // The Solver awaits what this returns (an epoch's end, a keep) before its next step.
          onProgress: (progress) => this.onProgress(progress),
        },
      );
    } catch (error) {
      this.model.dispose();
      throw error;
    }
  }

  get training(): boolean {
    return this.running !== null;
  }

  /** Trains until the last epoch or a pause; resolves when stopped (rejects if training fails). */
  train(): Promise<void> {
    if (this.running) return this.running;
    this.pauseRequested = false;
    this.running = (async () => {
      try {
        // A finished run has nothing to train (the Solver would only put its best parameters back).
        if (this.solver.finished) return;
        this.keptAt = performance.now();
        await this.solver.train();
        // The last epoch's end: once train() has put the best parameters into the model, which the
        // page then keeps and shows (the other epochs' ends run inside the Solver's reports).
        if (this.solver.finished) await this.hooks.epochEnd(this);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Stops at the Solver's next report (Solver.stop); train() continues from there. */
  pause(): Promise<void> {
    this.pauseRequested = true;
    this.solver.stop();
    return this.running?.catch(() => undefined) ?? Promise.resolve();
  }

  dispose(): void {
    this.solver.dispose();
    this.model.dispose();
  }

  /** A Solver report: shown; at an epoch's end, or inside a long epoch when a keep is due, the work the next step waits for. */
  private onProgress(progress: Progress): Promise<void> | undefined {
    this.hooks.progress(progress);
    // The last epoch's end is train()'s, after the Solver has put the best parameters into the model.
    if (progress.iteration === progress.numIterations) return undefined;
    if (progress.epochEnd) return this.keptAfter(this.hooks.epochEnd(this));
    // Inside a long epoch (a slow GPU, a large dataset): keep the state now and then (a pause keeps its own).
    if (!this.pauseRequested && this.hooks.keepDue(performance.now() - this.keptAt)) return this.keptAfter(this.hooks.keep(this));
    return undefined;
  }

  /** Waits for an epoch's end or a keep, which kept the state: the next keep is due from then. */
  private async keptAfter(keeping: Promise<void>): Promise<void> {
    await keeping;
    this.keptAt = performance.now();
  }
}
