// Loading the page's dataset: the download's phases, its upload and views; a switch from the menu; a failed load and its retry.

import { discardRun } from './current-run';
import { loadHostData, uploadData } from './data';
import { showLostBanner } from './device';
import { controls, dashboard, message, setStatus, state, updateUrl } from './page-state';
import { DEFAULTS, type DatasetName } from './settings';
import { buildViews, showRunHistory } from './views';

/** Each dataset as the phase line and the messages name it. */
export const DATASET_TITLES: Record<DatasetName, string> = {
  'fashion-full': 'the full Fashion-MNIST',
  fashion: 'the Fashion-MNIST sample',
  spiral: 'the spiral',
};

/** Loads a dataset (a download with its progress on the bar for Fashion-MNIST), puts it on the GPU and builds its views. */
export async function loadDataset(name: DatasetName, { arrived }: { arrived?: () => void } = {}): Promise<void> {
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

export async function switchDataset(name: DatasetName): Promise<void> {
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
export function failedLoad(name: DatasetName, error: unknown): void {
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
export function followLoadedData(): void {
  const loaded = state.host?.name;
  if (!loaded || state.settings.dataset === loaded) {
    if (loaded) controls.show(state.settings);
    return;
  }
  state.settings = { ...DEFAULTS[loaded], hidden: [...DEFAULTS[loaded].hidden] };
  controls.show(state.settings);
  updateUrl();
}
