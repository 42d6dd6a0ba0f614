// The page's script: trains a network on this browser's GPU with live charts, predictions and checkpoints (index.html).

import { Engine, type CheckpointInfo, type Progress } from '../index';
import { TrainingCharts } from './charts';
import { downloadBytes, namedDataset, readCheckpointInfo } from './checkpoint-file';
import { ConfusionMatrix } from './confusion';
import { Controls } from './controls';
import { Dashboard, type Status } from './dashboard';
import { loadHostData, probeFullFashionMnist, uploadData, type FullFashionMnist, type GpuData, type HostData } from './data';
import { DecisionRegions } from './decision-regions';
import { ImageGrid, sampleIndices } from './image-grid';
import { Run } from './run';
import { DEFAULTS, defaultDataset, readUrl, toQuery, type DatasetName, type Settings } from './settings';
import './page.css';

/** Validation images shown with their predictions: five rows of six. */
const GRID_IMAGES = 30;

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}

const dashboard = new Dashboard();
const charts = new TrainingCharts(element('#loss-chart'), element('#accuracy-chart'));
const buttons = {
  train: element<HTMLButtonElement>('[data-testid="train"]'),
  pause: element<HTMLButtonElement>('[data-testid="pause"]'),
  reset: element<HTMLButtonElement>('[data-testid="reset"]'),
  download: element<HTMLButtonElement>('[data-testid="download"]'),
  load: element<HTMLInputElement>('[data-testid="load"]'),
};

/** Everything the page holds: the device, the dataset on host and GPU, the run, and the views of the dataset. */
const state = {
  settings: DEFAULTS.fashion as Settings,
  engine: null as Engine | null,
  /** Set while the page itself destroys an engine: its `lost` promise then means nothing. */
  closing: new Set<Engine>(),
  lost: null as string | null,
  /** The run is stopped on purpose (paused, or loaded and not continued): after a lost device it comes back stopped. */
  holding: false,
  host: null as HostData | null,
  gpu: null as GpuData | null,
  run: null as Run | null,
  busy: false,
  views: null as { grid: ImageGrid | null; regions: DecisionRegions | null; confusion: ConfusionMatrix } | null,
  testAcc: null as number | null,
  /** The full Fashion-MNIST's split sizes when it is served with the page (then it is the default dataset). */
  full: null as FullFashionMnist | null,
};

const controls = new Controls(element('#settings'), (settings, problems, changed) => {
  // A new dataset loads whatever the other fields hold: it brings its own defaults.
  if (changed === 'dataset') {
    void switchDataset(controls.read().settings.dataset);
    return;
  }
  dashboard.showNotice(problems.join('; '));
  if (!settings) return;
  // The dataset is the loaded one, whatever the menu says meanwhile.
  state.settings = { ...settings, dataset: state.host?.name ?? settings.dataset };
  updateUrl();
});

/** The address bar shows the settings in use (and `autostart=1` when asked to keep it). */
function updateUrl({ autostart = false }: { autostart?: boolean } = {}): void {
  history.replaceState(null, '', `${location.pathname}${toQuery(state.settings)}${autostart ? '&autostart=1' : ''}`);
}

function setStatus(status: Status, phase: string): void {
  dashboard.setStatus(status, phase);
  refreshControls();
}

/** Buttons and fields as the page's state allows them. */
function refreshControls(): void {
  const run = state.run;
  const training = !!run?.training;
  const ready = !!state.engine && !!state.gpu && !state.lost && !state.busy;
  buttons.train.disabled = !ready || training;
  buttons.train.textContent = run && !training && !run.solver.finished && run.solver.iteration > 0 ? 'Continue' : 'Train';
  buttons.pause.disabled = !training;
  buttons.reset.disabled = !run || state.busy;
  // While training, or once the device is lost, the download is the last epoch's checkpoint.
  buttons.download.disabled = !run || ((training || !!state.lost) && !run.lastCheckpoint) || state.busy;
  buttons.load.disabled = !ready || training;
  // No device (no WebGPU, or lost): nothing the fields choose could load or train.
  const reason = state.lost
    ? 'Locked: the GPU device was lost.'
    : !state.engine
      ? 'Locked: no GPU device.'
      : training || (run && !run.solver.finished)
        ? 'Locked while a run is in progress: Reset to change.'
        : state.busy
          ? 'Locked while loading.'
          : '';
  controls.lock(!!reason, reason);
}

/** An error's message for a person: without the library's 'shadergrad: ' prefix, as a sentence. */
function message(error: unknown): string {
  // The library's own prefixes (shadergrad:, Solver.loadCheckpoint:) name code, not anything on the page.
  const text = (error instanceof Error ? error.message : String(error)).replace(/^shadergrad: /, '').replace(/^Solver(\.\w+)?: /, '');
  // A plain first word gets a capital; a name (loadFashionMnist, a file name) stays as written.
  return /^[a-z]+(\s|$)/.test(text) ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

// ---- the device ----------------------------------------------------------------------------------

async function openEngine(): Promise<Engine> {
  const engine = await Engine.create();
  const { vendor, architecture, description, device } = engine.adapterInfo;
  dashboard.setAdapter([vendor, architecture, description || device].filter(Boolean).join(' · ') || 'unnamed adapter');
  engine.device.lost.then((info) => {
    if (state.closing.has(engine) || engine !== state.engine) return;
    // The reason and the driver's message, without its closing full stop (the banner adds its own).
    deviceLost(`${info.reason || 'unknown reason'}${info.message ? `: ${info.message.replace(/\.\s*$/, '')}` : ''}`);
  });
  return engine;
}

function closeEngine(): void {
  const engine = state.engine;
  if (!engine) return;
  state.closing.add(engine);
  try {
    state.run?.dispose();
    state.gpu?.dispose();
  } catch {
    // A lost device's buffers are gone already.
  }
  state.run = null;
  state.gpu = null;
  engine.destroy();
  state.engine = null;
}

function deviceLost(reason: string): void {
  state.lost = reason;
  void state.run?.pause();
  showLostBanner();
}

/**
 * The device-lost banner and its button (Restore / Resume / Start again / Reconnect), shown again
 * whatever happens while the device stays lost: it is the only way on without reloading.
 */
function showLostBanner(extra = ''): void {
  const reason = state.lost ?? 'unknown reason';
  const kept = state.run?.lastCheckpoint ?? null;
  const epoch = kept?.epoch ?? 0;
  // Finished is what the kept state says (the Solver may have gone on past it before the loss).
  const finished = !!kept && !!state.run && kept.iteration >= state.run.solver.numIterations;
  const resume = document.createElement('button');
  resume.type = 'button';
  resume.className = 'primary';
  resume.dataset.testid = 'resume';
  const paused = !!kept?.paused && kept.iteration > 0;
  // Kept inside an epoch (a long one): it resumes at that iteration, not at an epoch's start.
  const perEpoch = state.run?.solver.iterationsPerEpoch ?? 1;
  const midEpoch = !!kept && kept.iteration > 0 && (paused || kept.iteration % perEpoch !== 0);
  resume.textContent = finished
    ? 'Restore the trained model'
    : midEpoch
      ? `Resume from iteration ${kept.iteration.toLocaleString('en-US')}`
      : epoch
        ? `Resume from epoch ${epoch}`
        : state.run
          ? 'Start again on a new device'
          : 'Reconnect';
  resume.addEventListener('click', () => void recover());
  dashboard.showError(
    `The GPU device was lost (${reason}). The browser may have reset the GPU, or another tab used too much of its memory.` +
      (finished
        ? ' The trained model can be restored on a new device, without training it again.'
        : paused
          ? ' Training can resume on a new device from where it was paused.'
          : midEpoch
            ? ` Training can resume on a new device from iteration ${kept.iteration.toLocaleString('en-US')}, where its state was last kept.`
            : epoch
            ? ' Training can resume on a new device from the parameters of the last epoch.'
            : '') +
      (extra ? ` ${extra}` : ''),
    resume,
  );
  setStatus('error', 'GPU device lost');
}

/**
 * Opens a new device after a loss, uploads the data again, and resumes the run from its last
 * checkpoint — the last epoch's, the one kept inside a long epoch, or where it was paused (a finished
 * run comes back finished, with its best parameters).
 */
async function recover(): Promise<void> {
  const old = state.run;
  const kept = old?.lastCheckpoint ?? null;
  const numEpochs = old?.solver.numEpochs;
  const reg = old?.model.reg;
  const settings = old?.settings ?? state.settings;
  state.busy = true;
  dashboard.showError('');
  setStatus('idle', 'Opening a new GPU device…');
  // The lost run (and its last checkpoint) stays until a new device works: a failed try can be retried.
  let engine: Engine;
  try {
    engine = await openEngine();
  } catch (error) {
    state.busy = false;
    console.warn('[shadergrad page]', error);
    showLostBanner(`A new device could not be opened (${message(error)}); try again in a moment.`);
    return;
  }
  try {
    closeEngine();
    state.views?.regions?.reset();
    state.engine = engine;
    state.lost = null;
    // Data still downloading (lost during the first load) goes to the new device when it arrives.
    state.gpu = state.host ? uploadData(state.engine, state.host) : null;
    if (old) {
      const run = newRun(settings, { numEpochs, reg });
      if (kept) run.solver.loadCheckpoint(kept.bytes);
      run.lastCheckpoint = kept;
      showRunHistory(run);
      state.busy = false;
      if (run.solver.finished) {
        // Nothing left to train: the Solver only puts its best parameters into the model.
        await run.solver.train();
        await evaluate(run);
        await finish(run);
      } else if (!state.holding) await train();
      else {
        await evaluate(run);
        const where = kept?.paused ? '' : ' (where its state was last kept)';
        setStatus('idle', `Paused at iteration ${run.solver.iteration.toLocaleString('en-US')}${where}`);
      }
    } else {
      state.busy = false;
      setStatus('idle', state.gpu ? 'Ready' : 'Loading…');
    }
  } catch (error) {
    state.busy = false;
    fail(error);
  }
}

// ---- data ----------------------------------------------------------------------------------------

const DATASET_TITLES: Record<DatasetName, string> = {
  'fashion-full': 'the full Fashion-MNIST',
  fashion: 'the Fashion-MNIST sample',
  spiral: 'the spiral',
};

/** Loads a dataset (a download with its progress on the bar for Fashion-MNIST), puts it on the GPU and builds its views. */
async function loadDataset(name: DatasetName, { arrived }: { arrived?: () => void } = {}): Promise<void> {
  const started = performance.now();
  const title = DATASET_TITLES[name];
  dashboard.setPhase(`Loading ${title}…`);
  const host = await loadHostData(name, (loaded, total) => {
    dashboard.setDownload(loaded, total);
    dashboard.setPhase(total !== null && loaded >= total ? `Unpacking ${title}…` : `Downloading ${title}…`);
  });
  arrived?.();
  dashboard.setPhase(`Uploading ${title} to the GPU…`);
  // Let the phase show before the upload's copies.
  await new Promise((resolve) => setTimeout(resolve, 0));
  state.gpu?.dispose();
  state.gpu = null;
  state.host = host;
  state.gpu = uploadData(state.engine!, host);
  buildViews(host);
  dashboard.clearReadouts();
  // What failed before (a file that did not load, a download) is not this dataset's problem.
  if (!state.lost) dashboard.showError('');
  // For DevTools' performance panel (and the page's tests).
  performance.measure(`shadergrad: load ${name}`, { start: started });
}

async function switchDataset(name: DatasetName): Promise<void> {
  // Without a device (no WebGPU, or lost) or while busy, the menu goes back to what is loaded.
  if (state.run?.training || state.busy || !state.engine || state.lost) {
    controls.show(state.settings);
    return;
  }
  // Until the new data is here the page keeps what it has: a failed download changes nothing.
  const before = state.settings;
  dashboard.showNotice('');
  dashboard.showError('');
  state.settings = { ...DEFAULTS[name], hidden: [...DEFAULTS[name].hidden] };
  controls.show(state.settings);
  updateUrl();
  state.busy = true;
  setStatus('idle', `Loading ${DATASET_TITLES[name]}…`);
  try {
    await loadDataset(name, { arrived: discardRun });
    state.busy = false;
    setStatus('idle', 'Ready');
  } catch (error) {
    state.busy = false;
    if (state.host && state.host.name === before.dataset) {
      state.settings = before;
      controls.show(before);
      updateUrl();
    } else followLoadedData();
    failedLoad(name, error);
  }
}

/**
 * A dataset that did not load: what went wrong and a button to try again. The page keeps what it
 * had (its data, its run); with nothing loaded at all, that is an error.
 */
function failedLoad(name: DatasetName, error: unknown): void {
  console.warn('[shadergrad page]', error);
  if (state.lost) {
    showLostBanner();
    return;
  }
  const retry = document.createElement('button');
  retry.type = 'button';
  retry.dataset.testid = 'retry';
  retry.textContent = `Try ${DATASET_TITLES[name]} again`;
  retry.addEventListener('click', () => {
    // The menu shows the dataset to load (it went back to the loaded one).
    controls.show({ ...state.settings, dataset: name });
    void switchDataset(name);
  });
  dashboard.showError(`Could not load ${DATASET_TITLES[name]}: ${message(error)}. Check the connection (or the server), then try again.`, retry);
  const run = state.run;
  if (run) showRunHistory(run);
  else dashboard.clearReadouts();
  if (state.gpu) setStatus(run?.solver.finished ? 'done' : 'idle', `${DATASET_TITLES[state.host!.name]} stays loaded`);
  else setStatus('error', 'No data loaded');
}

/**
 * After a failed switch or load: the form, the URL and the settings describe the dataset that is
 * loaded (choosing the other one again retries), never one that is not.
 */
function followLoadedData(): void {
  const loaded = state.host?.name;
  if (!loaded || state.settings.dataset === loaded) {
    if (loaded) controls.show(state.settings);
    return;
  }
  state.settings = { ...DEFAULTS[loaded], hidden: [...DEFAULTS[loaded].hidden] };
  controls.show(state.settings);
  updateUrl();
}

/** The panels that look at the model: predictions on images or decision regions, and the confusion matrix. */
function buildViews(host: HostData): void {
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

// ---- runs ----------------------------------------------------------------------------------------

function newRun(settings: Settings, options: { numEpochs?: number; reg?: number } = {}): Run {
  const run = makeRun(settings, options);
  state.run = run;
  state.testAcc = null;
  return run;
}

/** A run on the data loaded now, not yet the page's (a checkpoint is tried on it first). */
function makeRun(settings: Settings, options: { numEpochs?: number; reg?: number } = {}): Run {
  return new Run(state.engine!, state.gpu!, state.host!, settings, { progress: showProgress, epochEnd, keepDue, keep: keepWhileTraining }, options);
}

function discardRun(): void {
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
async function keepCheckpoint(run: Run, paused: boolean): Promise<void> {
  const bytes = await saveRunCheckpoint(run);
  run.lastCheckpoint = { bytes, epoch: run.solver.epoch, iteration: run.solver.iteration, paused };
}

/**
 * How often a long epoch stops to keep the state on the host: at most this much training is lost with
 * the device. Each keep reads every parameter back (about 8 MB for 784-512-256-10 with Adam), so not
 * after every report; on a fast GPU epochs end sooner than this and their ends keep it.
 */
const KEEP_EVERY_MS = 10_000;

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

/** Predicts the validation set (confusion matrix, image labels) and, for points, the decision regions. */
async function evaluate(run: Run): Promise<void> {
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
function showRunHistory(run: Run): void {
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

async function train(): Promise<void> {
  let run = state.run;
  if (!run || run.solver.finished) {
    const { settings, problems } = controls.read();
    if (problems.length) {
      dashboard.showNotice(problems.join('; '));
      return;
    }
    // The menu names another dataset than the one loaded (a switch that failed): load it first.
    if (state.host && settings.dataset !== state.host.name) {
      await switchDataset(settings.dataset);
      return;
    }
    discardRun();
    state.settings = settings;
    updateUrl();
    try {
      run = newRun(settings);
    } catch (error) {
      fail(error);
      return;
    }
  }
  dashboard.showError('');
  dashboard.showNotice('');
  state.holding = false;
  const points = state.host?.train.count ?? 0;
  if (points && run.settings.batch > points) {
    dashboard.showNotice(`The batch (${run.settings.batch}) is larger than the ${points.toLocaleString('en-US')} training points: each epoch is one step on a batch drawn with replacement.`);
  }
  const focused = document.activeElement === buttons.train;
  const training = run.train();
  setStatus('training', run.solver.iteration ? 'Training' : 'Training: compiling the GPU kernels…');
  // The Train button just became disabled: keyboard focus moves to Pause rather than to the page.
  if (focused) buttons.pause.focus();
  try {
    await training;
  } catch (error) {
    // A lost device fails the step that was running: its own banner says more. Its loss event can
    // come seconds after a failed readback (SwiftShader), so a failure of the GPU itself waits
    // longer for it, with the buttons held, rather than offering to continue on a dead device.
    const gpuFailed = /reading a tensor back from the GPU failed|GPU error|device was lost/i.test(message(error));
    if (gpuFailed) {
      state.busy = true;
      setStatus('idle', 'Checking the GPU…');
    }
    await Promise.race([run.engine.device.lost, new Promise((resolve) => setTimeout(resolve, gpuFailed ? 5000 : 300))]);
    if (gpuFailed) state.busy = false;
    if (state.run !== run) return;
    if (state.lost) setStatus('error', 'GPU device lost');
    else fail(error);
    return;
  }
  if (state.run !== run || state.lost) return;
  if (!run.solver.finished) {
    // Paused on purpose: a device lost while paused comes back here, not at the epoch's start.
    if (state.holding && run.solver.iteration > 0) {
      try {
        await keepCheckpoint(run, true);
      } catch (error) {
        // Reset while the state was read back disposed the run: nothing to keep, nothing to say.
        if (state.run === run) console.warn('[shadergrad page] the paused state was not kept', error);
      }
    }
    if (state.run !== run || state.lost) return;
    // Not training: the readout shows the epochs completed, as after a load or a restore.
    dashboard.setProgress(run.solver.epoch, run.solver.numEpochs, run.solver.iteration, run.solver.numIterations);
    setStatus('idle', `Paused at iteration ${run.solver.iteration.toLocaleString('en-US')}`);
    return;
  }
  await finish(run);
}

/** The train accuracy of the check that found the best parameters (the last check's, if none matches). */
function trainAccOfBest(run: Run): number | null {
  const { trainAccHistory, valAccHistory, bestValAcc } = run.solver;
  const at = valAccHistory.indexOf(bestValAcc);
  return trainAccHistory[at >= 0 ? at : trainAccHistory.length - 1] ?? null;
}

/** A finished run: the test accuracy of its best parameters, and status done. */
async function finish(run: Run): Promise<void> {
  try {
    // The Solver put the best parameters (by validation accuracy) into the model: score the test set.
    if (state.gpu?.XTest && state.gpu.yTest) {
      const testAcc = await run.solver.checkAccuracy(state.gpu.XTest, state.gpu.yTest, { batchSize: 1000 });
      // Reset (or a lost device) while the test set was scored: this run is no longer the page's.
      if (state.run !== run || state.lost) return;
      state.testAcc = testAcc;
    }
  } catch (error) {
    if (state.run !== run) return;
    fail(error);
    return;
  }
  // The model now holds the best parameters: show their check (train and validation of the same epoch).
  const best = run.solver.bestValAcc;
  dashboard.setAccuracy(trainAccOfBest(run), best);
  setStatus(
    'done',
    `Done: best validation accuracy ${(best * 100).toFixed(1)}%` + (state.testAcc !== null ? `, test accuracy ${(state.testAcc * 100).toFixed(1)}%` : ''),
  );
}

function fail(error: unknown, phase = 'Stopped by an error'): void {
  console.warn('[shadergrad page]', error);
  // With the device lost, whatever failed failed because of it: keep the way back on screen.
  if (state.lost) {
    showLostBanner();
    return;
  }
  dashboard.showError(message(error));
  setStatus('error', phase);
  // A failed run can be reset; the Train button needs a working device and data.
  buttons.reset.disabled = !state.run;
}

async function reset(): Promise<void> {
  const run = state.run;
  if (run?.training) await run.pause();
  discardRun();
  dashboard.showError('');
  dashboard.showNotice('');
  if (!state.lost) setStatus('idle', state.gpu ? 'Ready' : 'Loading…');
  else showLostBanner();
}

async function download(): Promise<void> {
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

/** The run's Solver checkpoint, with the dataset it trains on in the metadata (for loading it back). */
function saveRunCheckpoint(run: Run): Promise<Uint8Array> {
  return run.solver.saveCheckpoint({ metadata: { dataset: run.settings.dataset } });
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
    const perEpoch = Math.max(Math.floor(trainCounts[name] / (info.batchSize ?? 0)), 1);
    return info.batchSize !== null && info.epoch >= 1 && Math.floor(info.iteration / perEpoch) === info.epoch;
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
async function load(file: File): Promise<void> {
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

// ---- start ---------------------------------------------------------------------------------------

buttons.train.addEventListener('click', () => void train());
buttons.pause.addEventListener('click', () => {
  state.holding = true;
  void state.run?.pause();
});
buttons.reset.addEventListener('click', () => void reset());
buttons.download.addEventListener('click', () => void download());
buttons.load.addEventListener('change', () => {
  const file = buttons.load.files?.[0];
  buttons.load.value = '';
  if (file) void load(file);
});

/**
 * For automated tests: `shadergradPage.loseDevice()` destroys the GPU device as a driver reset would;
 * `keepEveryMs` sets how often a long epoch keeps the state (KEEP_EVERY_MS).
 */
declare global {
  interface Window {
    shadergradPage?: { loseDevice(): void; keepEveryMs: number };
  }
}
window.shadergradPage = { loseDevice: () => state.engine?.device.destroy(), keepEveryMs: KEEP_EVERY_MS };

/** Offers the full Fashion-MNIST in the dataset control, first. */
function offerFullDataset(full: FullFashionMnist): void {
  const select = element<HTMLSelectElement>('#settings select[name="dataset"]');
  const option = document.createElement('option');
  option.value = 'fashion-full';
  const n = (count: number) => count.toLocaleString('en-US');
  option.textContent = `Fashion-MNIST (full: ${n(full.train)} train / ${n(full.val)} val / ${n(full.test)} test)`;
  select.prepend(option);
}

async function main(): Promise<void> {
  state.busy = true;
  setStatus('idle', 'Looking for the full Fashion-MNIST…');
  state.full = await probeFullFashionMnist();
  if (state.full) offerFullDataset(state.full);
  const url = readUrl(location.search, !!state.full);
  state.settings = url.settings;
  controls.show(url.settings);
  // The address bar holds what is used: an ignored value is said once, not again at every reload or shared link.
  if (url.problems.length) updateUrl({ autostart: url.autostart });
  dashboard.showNotice(url.problems.length ? `Ignored: ${url.problems.join('; ')}.` : '');
  dashboard.clearReadouts();
  setStatus('idle', 'Opening the GPU…');
  try {
    state.engine = await openEngine();
  } catch (error) {
    state.busy = false;
    dashboard.setAdapter('none');
    fail(error, 'No WebGPU adapter: this browser cannot train here');
    element('#visual').querySelector('.placeholder')?.replaceChildren('Nothing to show: this browser gives the page no WebGPU (see the message above).');
    return;
  }
  setStatus('idle', `Loading ${DATASET_TITLES[url.settings.dataset]}…`);
  try {
    await loadDataset(url.settings.dataset);
  } catch (error) {
    state.busy = false;
    failedLoad(url.settings.dataset, error);
    return;
  }
  state.busy = false;
  setStatus('idle', 'Ready');
  if (url.autostart) {
    const training = train();
    // Starting a run clears the notice: the URL's ignored values stay said.
    if (url.problems.length) dashboard.showNotice(`Ignored: ${url.problems.join('; ')}.`);
    await training;
  }
}

void main();
