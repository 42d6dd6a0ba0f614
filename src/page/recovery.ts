// After a lost device: a new device, the data uploaded to it again, and the run resumed from its last checkpoint.

import type { Engine } from '../index';
import { newRun } from './current-run';
import { uploadData } from './data';
import { closeEngine, openEngine, showLostBanner } from './device';
import { dashboard, message, setStatus, state } from './page-state';
import { fail, finish, train } from './training';
import { evaluate, showRunHistory } from './views';

/**
 * Opens a new device after a loss, uploads the data again, and resumes the run from its last
 * checkpoint — the last epoch's, the one kept inside a long epoch, or where it was paused (a finished
 * run comes back finished, with its best parameters).
 */
export async function recover(): Promise<void> {
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
