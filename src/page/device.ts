// The page's GPU device: opened, closed by the page, and lost — with the banner that offers a new one (recovery.ts).

import { Engine } from '../index';
import { dashboard, setStatus, state } from './page-state';

/** What the lost banner's button does: recovery.ts's recover(), given by main.ts (recovering trains, and a failed run shows this banner). */
let recoverAction: () => Promise<void> = async () => {};

export function setRecoverAction(recover: () => Promise<void>): void {
  recoverAction = recover;
}

export async function openEngine(): Promise<Engine> {
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

export function closeEngine(): void {
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
export function showLostBanner(extra = ''): void {
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
  resume.addEventListener('click', () => void recoverAction());
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
