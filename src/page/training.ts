// Training the page's run: Train and Continue until its end or a pause, the end's test accuracy, a failure, and Reset.

import { DeviceError } from '../index';
import { discardRun, keepCheckpoint, newRun } from './current-run';
import { switchDataset } from './dataset-loading';
import { showLostBanner } from './device';
import { buttons, controls, dashboard, message, setStatus, state, updateUrl } from './page-state';
import type { Run } from './run';

export async function train(): Promise<void> {
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
    const gpuFailed = error instanceof DeviceError;
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
export function trainAccOfBest(run: Run): number | null {
  const { trainAccHistory, valAccHistory, bestValAcc } = run.solver;
  const at = valAccHistory.indexOf(bestValAcc);
  return trainAccHistory[at >= 0 ? at : trainAccHistory.length - 1] ?? null;
}

/** A finished run: the test accuracy of its best parameters, and status done. */
export async function finish(run: Run): Promise<void> {
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

export function fail(error: unknown, phase = 'Stopped by an error'): void {
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

export async function reset(): Promise<void> {
  const run = state.run;
  if (run?.training) await run.pause();
  discardRun();
  dashboard.showError('');
  dashboard.showNotice('');
  if (!state.lost) setStatus('idle', state.gpu ? 'Ready' : 'Loading…');
  else showLostBanner();
}
