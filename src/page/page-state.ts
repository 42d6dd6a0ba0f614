// What every part of the page shares: its state, its readouts, buttons and settings form, the status line that keeps them in step, and the address bar.

import { ShadergradError, errorMessage, errorReason, type Engine } from '../index';
import { TrainingCharts } from './charts';
import type { ConfusionMatrix } from './confusion';
import { Controls } from './controls';
import { Dashboard, type Status } from './dashboard';
import type { FullFashionMnist, GpuData, HostData } from './data';
import type { DecisionRegions } from './decision-regions';
import type { ImageGrid } from './image-grid';
import type { Run } from './run';
import { DEFAULTS, toQuery, type Settings } from './settings';

/**
 * For automated tests: `shadergradPage.loseDevice()` destroys the GPU device as a driver reset would;
 * `keepEveryMs` sets how often a long epoch keeps the state (KEEP_EVERY_MS). Set by main.ts; read
 * by current-run.ts.
 */
declare global {
  interface Window {
    shadergradPage?: { loseDevice(): void; keepEveryMs: number };
  }
}

export function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}

export const dashboard = new Dashboard();
export const charts = new TrainingCharts(element('#loss-chart'), element('#accuracy-chart'));
export const buttons = {
  train: element<HTMLButtonElement>('[data-testid="train"]'),
  pause: element<HTMLButtonElement>('[data-testid="pause"]'),
  reset: element<HTMLButtonElement>('[data-testid="reset"]'),
  download: element<HTMLButtonElement>('[data-testid="download"]'),
  load: element<HTMLInputElement>('[data-testid="load"]'),
};

/** Everything the page holds: the device, the dataset on host and GPU, the run, and the views of the dataset. */
export const state = {
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

/** The settings form; what a change does is main.ts's (a new dataset loads through dataset-loading.ts, which needs this file). */
export const controls = new Controls(element('#settings'));

/** The address bar shows the settings in use (and `autostart=1` when asked to keep it). */
export function updateUrl({ autostart = false }: { autostart?: boolean } = {}): void {
  history.replaceState(null, '', `${location.pathname}${toQuery(state.settings)}${autostart ? '&autostart=1' : ''}`);
}

export function setStatus(status: Status, phase: string): void {
  dashboard.setStatus(status, phase);
  refreshControls();
}

/** Buttons and fields as the page's state allows them. */
export function refreshControls(): void {
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
export function message(error: unknown): string {
  // The library's own prefixes (shadergrad:, Solver.loadCheckpoint:) name code, not anything on the page.
  const solverOp = error instanceof ShadergradError && (error.op === 'Solver' || !!error.op?.startsWith('Solver.'));
  const text = solverOp ? errorReason(error) : errorMessage(error);
  // A plain first word gets a capital; a name (loadFashionMnist, a file name) stays as written.
  return /^[a-z]+(\s|$)/.test(text) ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}
