// The page's script: trains a network on this browser's GPU with live charts, predictions and checkpoints (index.html); wires the page's parts together and starts it.

import { download, load } from './checkpoint-buttons';
import { KEEP_EVERY_MS } from './current-run';
import { probeFullFashionMnist, type FullFashionMnist } from './data';
import { DATASET_TITLES, failedLoad, loadDataset, switchDataset } from './dataset-loading';
import { openEngine, setRecoverAction } from './device';
import { buttons, controls, dashboard, element, setStatus, state, updateUrl } from './page-state';
import { recover } from './recovery';
import { readUrl } from './settings';
import { fail, reset, train } from './training';
import './page.css';

controls.onChange = (settings, problems, changed) => {
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
};

// The lost device's banner offers a new one.
setRecoverAction(recover);

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

// The test hook (its type: page-state.ts).
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
