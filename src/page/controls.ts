// The settings form: shows Settings in its fields, reads and checks them back, and locks them while a run owns the model.

import { FIELDS, formatField, parseField, type DatasetName, type Field, type Settings } from './settings';

export class Controls {
  /** A field changed to a valid value (settings), or to an invalid one (problems): what the page does then (its main.ts sets it). */
  onChange: (settings: Settings | null, problems: string[], changed: Field | 'dataset') => void = () => {};
  private readonly inputs = new Map<Field | 'dataset', HTMLInputElement | HTMLSelectElement>();

  constructor(private readonly form: HTMLFormElement) {
    for (const name of ['dataset', ...FIELDS] as const) {
      const input = form.elements.namedItem(name);
      if (!(input instanceof HTMLInputElement || input instanceof HTMLSelectElement)) throw new Error(`the page has no control named ${name}`);
      this.inputs.set(name, input);
      input.addEventListener('change', () => {
        const { settings, problems } = this.read();
        this.onChange(problems.length ? null : settings, problems, name);
      });
    }
    form.addEventListener('submit', (event) => event.preventDefault());
  }

  show(settings: Settings): void {
    const dataset = this.input('dataset') as HTMLSelectElement;
    dataset.value = settings.dataset;
    // The sidebar cuts long option names ("Fashion-MNIST (full: 55,000 train / …)"): the whole name on hover.
    dataset.title = dataset.selectedOptions[0]?.textContent ?? '';
    for (const field of FIELDS) {
      const input = this.input(field);
      if (input instanceof HTMLInputElement && input.type === 'checkbox') input.checked = settings[field] === true;
      else input.value = formatField(settings, field);
      input.removeAttribute('aria-invalid');
    }
  }

  /** The settings the fields hold, and what is wrong with those that cannot be used. */
  read(): { settings: Settings; problems: string[] } {
    const settings = { dataset: this.input('dataset').value as DatasetName } as Settings;
    const problems: string[] = [];
    for (const field of FIELDS) {
      const input = this.input(field);
      const text = input instanceof HTMLInputElement && input.type === 'checkbox' ? (input.checked ? '1' : '0') : input.value;
      try {
        (settings as unknown as Record<Field, unknown>)[field] = parseField(field, text);
        input.removeAttribute('aria-invalid');
      } catch (error) {
        problems.push((error as Error).message);
        input.setAttribute('aria-invalid', 'true');
      }
    }
    return { settings, problems };
  }

  /** Disables the fields, saying why under the form's title (a run owns the model, no device, data loading). */
  lock(locked: boolean, reason = ''): void {
    for (const input of this.inputs.values()) input.disabled = locked;
    this.form.classList.toggle('locked', locked);
    this.form.querySelector('h2')?.setAttribute('data-lock-reason', locked ? reason : '');
  }

  private input(name: Field | 'dataset'): HTMLInputElement | HTMLSelectElement {
    return this.inputs.get(name)!;
  }
}
