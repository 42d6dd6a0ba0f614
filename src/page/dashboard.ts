// The page's readouts: status, epoch and its progress bar, loss, accuracies, samples/s, the adapter, and the error banner.

export type Status = 'idle' | 'training' | 'done' | 'error';

function byTestId(id: string): HTMLElement {
  const element = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!element) throw new Error(`the page has no [data-testid="${id}"]`);
  return element;
}

function byId(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element;
}

export class Dashboard {
  private readonly status = byTestId('status');
  private readonly epoch = byTestId('epoch');
  private readonly epochs = byId('epochs');
  private readonly loss = byTestId('loss');
  private readonly trainAcc = byTestId('train-acc');
  private readonly valAcc = byTestId('val-acc');
  private readonly samplesPerSec = byTestId('samples-per-sec');
  private readonly adapter = byTestId('adapter');
  private readonly error = byTestId('error');
  private readonly errorBox = byId('error-box');
  private readonly notice = byId('notice');
  private readonly progressBar = byId('progress-bar');
  private readonly progressText = byId('progress-text');
  private readonly phase = byId('phase');

  setStatus(status: Status, phase: string): void {
    this.status.textContent = status;
    this.status.dataset.status = status;
    this.phase.textContent = phase;
  }

  /** The status shown now (to put back after an action that changed nothing). */
  get shownStatus(): Status {
    return this.status.dataset.status as Status;
  }

  get shownPhase(): string {
    return this.phase.textContent ?? '';
  }

  setAdapter(name: string): void {
    this.adapter.textContent = name;
    this.adapter.title = `WebGPU adapter: ${name}`;
  }

  /** Epoch `epoch` of `epochs` and the fraction of all iterations done. */
  setProgress(epoch: number, epochs: number, iteration: number, iterations: number): void {
    this.epoch.textContent = String(epoch);
    this.epochs.textContent = ` / ${epochs}`;
    const fraction = iterations ? Math.min(iteration / iterations, 1) : 0;
    this.progressBar.style.width = `${(fraction * 100).toFixed(2)}%`;
    this.progressBar.parentElement!.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
    this.progressText.textContent = iterations ? `iteration ${iteration.toLocaleString('en-US')} of ${iterations.toLocaleString('en-US')}` : '';
  }

  /** A download's progress on the progress bar (bytes so far, and the total when known); null total: an indeterminate bar. */
  setDownload(loaded: number, total: number | null): void {
    const fraction = total ? Math.min(loaded / total, 1) : 0;
    this.progressBar.style.width = `${(fraction * 100).toFixed(2)}%`;
    this.progressBar.parentElement!.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
    this.progressText.textContent = total ? `${megabytes(loaded)} of ${megabytes(total)}` : megabytes(loaded);
  }

  setLoss(loss: number | null): void {
    this.loss.textContent = loss === null ? '—' : loss.toFixed(4);
  }

  /** Accuracies as fractions (the text a test reads), null: not measured yet. */
  setAccuracy(train: number | null, val: number | null): void {
    this.trainAcc.textContent = train === null ? '—' : train.toFixed(3);
    this.valAcc.textContent = val === null ? '—' : val.toFixed(3);
  }

  setSamplesPerSec(rate: number | null): void {
    // Whole numbers from 10 up; below, two significant digits (a slow device is not shown as 0).
    this.samplesPerSec.textContent = rate === null ? '—' : rate >= 10 ? String(Math.round(rate)) : String(Number(rate.toPrecision(2)));
  }

  /** The error banner's message (empty: hidden); `action` is an optional button under it. */
  showError(message: string, action?: HTMLButtonElement): void {
    this.error.textContent = message;
    this.errorBox.hidden = !message;
    this.errorBox.querySelector('.actions')!.replaceChildren(...(action ? [action] : []));
  }

  /** A passing remark (a checkpoint loaded, a URL parameter ignored); empty hides it. */
  showNotice(message: string): void {
    this.notice.textContent = message;
    this.notice.hidden = !message;
  }

  /** The phase line alone (the status stays). */
  setPhase(phase: string): void {
    this.phase.textContent = phase;
  }

  clearReadouts(): void {
    this.setProgress(0, 0, 0, 0);
    this.epochs.textContent = '';
    this.setLoss(null);
    this.setAccuracy(null, null);
    this.setSamplesPerSec(null);
  }
}

/** Bytes as megabytes for a person: 12.3 MB. */
function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}
