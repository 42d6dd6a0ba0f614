// Download and Load: the run's checkpoint saved as a file, and a file loaded as the page's run on the dataset it was trained on.

import type { CheckpointInfo } from '../index';
import { downloadBytes, namedDataset, readCheckpointInfo, saveRunCheckpoint } from './checkpoint-file';
import { discardRun, makeRun } from './current-run';
import { followLoadedData, loadDataset } from './dataset-loading';
import { controls, dashboard, message, setStatus, state, updateUrl } from './page-state';
import type { Run } from './run';
import { DEFAULTS, defaultDataset, type DatasetName, type Settings } from './settings';
import { fail, trainAccOfBest } from './training';
import { evaluate, showRunHistory } from './views';

export async function download(): Promise<void> {
  const run = state.run;
  if (!run) return;
  try {
    // While training the Solver owns the model, and a lost device holds none: the last kept checkpoint is offered.
    const kept = run.training || state.lost ? run.lastCheckpoint : { bytes: await saveRunCheckpoint(run), epoch: run.solver.epoch };
    if (!kept) return;
    downloadBytes(kept.bytes, `shadergrad-${run.settings.dataset}-epoch${kept.epoch}.safetensors`);
  } catch (error) {
    fail(error);
  }
}

/**
 * The dataset a checkpoint continues on: the spiral, or the Fashion-MNIST it was trained on — named
 * in the files the page writes; in others (the CLI's) told by their number of training images, or in
 * files older than that record by their iterations per epoch; else the one loaded now.
 */
function checkpointDataset(info: CheckpointInfo): DatasetName {
  const { inputDim, numClasses } = info.model;
  if (inputDim === 2 && numClasses === 3) return 'spiral';
  if (inputDim !== 784 || numClasses !== 10) {
    throw new Error(`it is for a model with ${inputDim} inputs and ${numClasses} classes: this page trains Fashion-MNIST (784, 10) and the spiral (2, 3)`);
  }
  const trainCounts: Record<'fashion' | 'fashion-full', number> = { fashion: 5000, 'fashion-full': state.full?.train ?? 55_000 };
  const named = namedDataset(info);
  if (named === 'spiral') throw new Error('its metadata names the spiral, but it is a Fashion-MNIST model (784 inputs, 10 classes)');
  const fits = (['fashion', 'fashion-full'] as const).filter((name) => {
    if (named !== null) return name === named;
    if (info.trainSamples !== null) return info.trainSamples === trainCounts[name];
    if (info.batchSize === null || info.epoch < 1) return false;
    const perEpoch = Math.max(Math.floor(trainCounts[name] / info.batchSize), 1);
    return Math.floor(info.iteration / perEpoch) === info.epoch;
  });
  if (fits.length === 1) {
    const name = fits[0]!;
    if (name === 'fashion-full' && !state.full) {
      throw new Error('it was trained on the full Fashion-MNIST, which this page is not served with (only the sample is here)');
    }
    return name;
  }
  const count = (n: number) => n.toLocaleString('en-US');
  const sets = `neither the Fashion-MNIST sample (${count(trainCounts.fashion)} training images) nor the full set (${count(trainCounts['fashion-full'])})`;
  if (info.trainSamples !== null && fits.length === 0) {
    throw new Error(`it was trained on ${count(info.trainSamples)} training images: ${sets}; it was trained on other data (shadergrad train --limit or --val?)`);
  }
  if (info.epoch >= 1 && info.batchSize !== null && fits.length === 0) {
    throw new Error(`its ${info.iteration} iterations over ${info.epoch} epochs at batch ${info.batchSize} fit ${sets}: it was trained on other data (shadergrad train --limit?)`);
  }
  const loaded = state.host?.name;
  return loaded === 'fashion' || loaded === 'fashion-full' ? loaded : defaultDataset(!!state.full);
}

/**
 * Loads a checkpoint file: the model it describes (switching dataset if it must), its state, and an
 * evaluation. A file that cannot be loaded leaves the current run as it was, unless the dataset had
 * to change first.
 */
export async function load(file: File): Promise<void> {
  const [statusBefore, phaseBefore] = [dashboard.shownStatus, dashboard.shownPhase];
  state.busy = true;
  dashboard.showError('');
  dashboard.showNotice('');
  setStatus('idle', `Loading ${file.name}…`);
  const previous = state.run;
  let candidate: Run | null = null;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const info = readCheckpointInfo(bytes);
    const dataset = checkpointDataset(info);
    if (dataset !== state.host?.name) {
      discardRun();
      await loadDataset(dataset);
    }
    // The form's values where they are valid; with a field the form refuses, the last settings used.
    const { settings: current, problems } = controls.read();
    const valid = problems.length ? state.settings : current;
    const base = valid.dataset === dataset ? valid : DEFAULTS[dataset];
    // A learning rate decayed over epochs: rounded to what a person would type (no float noise in the form and URL).
    const learningRate = info.optimConfig.learningRate;
    const lr = learningRate === undefined ? base.lr : Number(learningRate.toPrecision(6));
    const settings: Settings = {
      ...base,
      dataset,
      hidden: info.model.hiddenDims,
      batchnorm: info.model.batchnorm,
      dropout: info.model.dropout,
      update: info.updateRule,
      lr,
      lrDecay: info.lrDecay ?? base.lrDecay,
      batch: info.batchSize ?? base.batch,
      reg: info.model.reg,
    };
    // Continue to the epochs it was meant to train, or, if it got there, train as many again as the form says.
    const planned = info.numEpochs ?? settings.epochs;
    settings.epochs = info.epoch < planned ? planned : info.epoch + base.epochs;
    // The new run is tried first: a checkpoint that does not fit leaves the current run alone.
    candidate = makeRun(settings);
    candidate.solver.loadCheckpoint(bytes);
    if (state.run === previous) discardRun();
    const run = candidate;
    candidate = null;
    state.run = run;
    state.testAcc = null;
    state.holding = true; // loaded, not continued yet
    // Held where the file left it, like a pause.
    run.lastCheckpoint = { bytes, epoch: run.solver.epoch, iteration: run.solver.iteration, paused: true };
    state.settings = settings;
    controls.show(settings);
    updateUrl();
    showRunHistory(run);
    await evaluate(run);
    const valAcc = await run.solver.checkAccuracy(state.gpu!.XVal, state.gpu!.yVal, { batchSize: 1000 });
    // A pair from one set of parameters: a finished run holds its best (the check that found them, as
    // at the end of training); an unfinished one shows its last check, as a paused run does.
    const { solver } = run;
    if (solver.finished) dashboard.setAccuracy(trainAccOfBest(run), valAcc);
    else dashboard.setAccuracy(solver.trainAccHistory.at(-1) ?? null, solver.valAccHistory.at(-1) ?? valAcc);
    dashboard.showNotice(
      `Loaded ${file.name}: epoch ${info.epoch}, iteration ${info.iteration.toLocaleString('en-US')}, validation accuracy ${(valAcc * 100).toFixed(1)}%. ` +
        `Continue trains it to epoch ${settings.epochs}; Reset discards it.`,
    );
    state.busy = false;
    setStatus('idle', `Checkpoint loaded (epoch ${info.epoch})`);
  } catch (error) {
    candidate?.dispose();
    state.busy = false;
    followLoadedData();
    // The page as it was (the same run, or still none): say what was wrong with the file, and carry on.
    if (state.lost || state.run !== previous) {
      fail(new Error(`Could not load ${file.name}: ${message(error)}`), 'Checkpoint not loaded');
      return;
    }
    console.warn('[shadergrad page]', error);
    dashboard.showError(`Could not load ${file.name}: ${message(error)}`);
    // A finished run keeps its "Done: …" line; otherwise the line says the file changed nothing.
    const phase = statusBefore === 'done' ? phaseBefore : previous ? 'Checkpoint not loaded: the current run is unchanged' : 'Checkpoint not loaded';
    setStatus(statusBefore === 'training' ? 'idle' : statusBefore, phase);
  }
}
