// The panels that look at the model: built for the loaded dataset, shown the run's predictions after each epoch, and its histories on the charts and readouts.

import { ConfusionMatrix } from './confusion';
import type { HostData } from './data';
import { DecisionRegions } from './decision-regions';
import { ImageGrid, sampleIndices } from './image-grid';
import { charts, dashboard, element, state } from './page-state';
import type { Run } from './run';

/** Validation images shown with their predictions: five rows of six. */
const GRID_IMAGES = 30;

/** The panels that look at the model: predictions on images or decision regions, and the confusion matrix. */
export function buildViews(host: HostData): void {
  const visual = element('#visual');
  element('#visual-title').textContent = host.image ? 'Validation images' : 'Decision regions';
  element('#dataset-caption').textContent = `${host.title}: ${host.source}.`;
  element('#confusion-title').textContent = `Confusion matrix (${host.val.count.toLocaleString('en-US')} validation ${host.image ? 'images' : 'points'})`;
  let grid: ImageGrid | null = null;
  let regions: DecisionRegions | null = null;
  state.views?.regions?.reset();
  if (host.image) {
    const tiles = document.createElement('div');
    tiles.className = 'tiles';
    visual.replaceChildren(tiles);
    const images = { bytes: host.val.X as Uint8Array, ...host.image, labels: host.val.y };
    grid = new ImageGrid(tiles, element('#visual-summary'), images, sampleIndices(host.val.count, GRID_IMAGES), host.classNames);
  } else {
    const canvas = document.createElement('canvas');
    canvas.width = 480;
    canvas.height = 480;
    canvas.className = 'regions';
    canvas.dataset.testid = 'decision-regions';
    visual.replaceChildren(canvas);
    element('#visual-summary').textContent = 'dots: training points · background: predicted class';
    regions = new DecisionRegions(canvas, { X: host.train.X as Float32Array, y: host.train.y });
  }
  const confusion = new ConfusionMatrix(element('#confusion'), host.classNames);
  state.views = { grid, regions, confusion };
}

/** Predicts the validation set (confusion matrix, image labels) and, for points, the decision regions. */
export async function evaluate(run: Run): Promise<void> {
  const { gpu, views, host } = state;
  if (!gpu || !views || !host) return;
  const started = performance.now();
  const predictions = await run.model.predict(gpu.XVal);
  views.confusion.update(predictions, host.val.y);
  views.grid?.showPredictions(predictions);
  // Every epoch's regions where that is cheap; always the final model's.
  await views.regions?.update(run.engine, run.model, run.solver.finished || !run.training);
  performance.measure(`shadergrad: evaluate ${host.val.count} ${host.name}`, { start: started });
}

/** Shows a run's histories (a loaded checkpoint, a run resumed on a new device). */
export function showRunHistory(run: Run): void {
  const { solver } = run;
  charts.showLoss(solver.lossHistory);
  charts.showAccuracy(solver.trainAccHistory, solver.valAccHistory);
  // Not training: the epochs it has completed (while training, the readout is the epoch under way).
  dashboard.setProgress(solver.epoch, solver.numEpochs, solver.iteration, solver.numIterations);
  dashboard.setLoss(solver.lossHistory.at(-1) ?? null);
  dashboard.setAccuracy(solver.trainAccHistory.at(-1) ?? null, solver.valAccHistory.at(-1) ?? null);
  // A restored or loaded run has no rate of its own yet (not the one before the loss or the load).
  dashboard.setSamplesPerSec(null);
}
