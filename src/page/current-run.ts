// The page's run: made on the loaded data with the hooks that show its progress and keep its state for a lost device, and discarded.

import type { Progress } from '../index';
import { saveRunCheckpoint } from './checkpoint-file';
import { charts, dashboard, refreshControls, state } from './page-state';
import { Run } from './run';
import type { Settings } from './settings';
import { buildViews, evaluate } from './views';

export function newRun(settings: Settings, options: { numEpochs?: number; reg?: number } = {}): Run {
  const run = makeRun(settings, options);
  state.run = run;
  state.testAcc = null;
  return run;
}

/** A run on the data loaded now, not yet the page's (a checkpoint is tried on it first). */
export function makeRun(settings: Settings, options: { numEpochs?: number; reg?: number } = {}): Run {
  return new Run(state.engine!, state.gpu!, state.host!, settings, { progress: showProgress, epochEnd, keepDue, keep: keepWhileTraining }, options);
}

export function discardRun(): void {
  state.run?.dispose();
  state.run = null;
  charts.clear();
  dashboard.clearReadouts();
  if (state.host) buildViews(state.host);
}

function showProgress(p: Progress): void {
  const run = state.run;
  if (!run || state.lost) return;
  const { solver } = run;
  dashboard.setProgress(Math.min(p.epoch + 1, p.numEpochs), p.numEpochs, p.iteration, p.numIterations);
  dashboard.setLoss(p.loss);
  if (p.trainAcc !== undefined) dashboard.setAccuracy(p.trainAcc, p.valAcc ?? null);
  if (p.iteration > 1) dashboard.setSamplesPerSec(p.samplesPerSec);
  charts.showLoss(solver.lossHistory);
  if (p.valAcc !== undefined) charts.showAccuracy(solver.trainAccHistory, solver.valAccHistory);
  dashboard.setStatus('training', `Training: epoch ${Math.min(p.epoch + 1, p.numEpochs)} of ${p.numEpochs}`);
}

/** Keeps the run's state on the host (a lost device resumes from it): at an epoch's end, or at a pause. */
export async function keepCheckpoint(run: Run, paused: boolean): Promise<void> {
  const bytes = await saveRunCheckpoint(run);
  run.lastCheckpoint = { bytes, epoch: run.solver.epoch, iteration: run.solver.iteration, paused };
}

/**
 * How often a long epoch stops to keep the state on the host: at most this much training is lost with
 * the device. Each keep reads every parameter back (about 8 MB for 784-512-256-10 with Adam), so not
 * after every report; on a fast GPU epochs end sooner than this and their ends keep it.
 */
export const KEEP_EVERY_MS = 10_000;

function keepDue(msSinceKept: number): boolean {
  return msSinceKept >= (window.shadergradPage?.keepEveryMs ?? KEEP_EVERY_MS);
}

/** While training (inside a long epoch, or at its end): keep the state for a lost device; the download offers it meanwhile. */
async function keepWhileTraining(run: Run): Promise<void> {
  await keepCheckpoint(run, false);
  refreshControls();
}

/** Between epochs: keep the state for a lost device, then look at the model's predictions. */
async function epochEnd(run: Run): Promise<void> {
  await keepWhileTraining(run);
  await evaluate(run);
}
