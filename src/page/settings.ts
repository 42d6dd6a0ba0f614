// The page's training settings: defaults per dataset, and the URL parameters that mirror the controls.

import { optim, type UpdateRuleName } from '../index';

/** fashion-full: the whole Fashion-MNIST when the server has it; fashion: the sample shipped with shadergrad; spiral: 2-D points. */
export type DatasetName = 'fashion-full' | 'fashion' | 'spiral';
export const DATASET_NAMES: readonly DatasetName[] = ['fashion-full', 'fashion', 'spiral'];

export interface Settings {
  dataset: DatasetName;
  hidden: number[];
  batchnorm: boolean;
  /** Probability of dropping a hidden unit. */
  dropout: number;
  update: UpdateRuleName;
  lr: number;
  /** Learning-rate factor applied after each epoch. */
  lrDecay: number;
  batch: number;
  epochs: number;
  seed: number;
  /** L2 regularization strength (the course's `reg`: 0.5·reg·ΣW² added to the loss). */
  reg: number;
}

/** The update rules the library has, by name (the form's menu). */
export const UPDATE_RULES = Object.keys(optim.updateRules) as UpdateRuleName[];

/**
 * Defaults that train quickly on a software GPU (SwiftShader on two cores: ~150 ms per 784-256-128-10
 * step at batch 128): Fashion-MNIST's sample reaches ~0.8 validation accuracy in two epochs. The full
 * set keeps that network (lighter than the CLI's 512,256) with dropout 0.2 and the CLI's decay 0.85:
 * through the CLI on SwiftShader (Node, two cores) it reached 0.859 validation accuracy after one
 * epoch, 0.887 after five (0.884 test) in 3 minutes; a real GPU runs the five epochs in seconds.
 */
export const DEFAULTS: Readonly<Record<DatasetName, Settings>> = {
  'fashion-full': { dataset: 'fashion-full', hidden: [256, 128], batchnorm: true, dropout: 0.2, update: 'adam', lr: 0.002, lrDecay: 0.85, batch: 128, epochs: 5, seed: 1, reg: 0 },
  fashion: { dataset: 'fashion', hidden: [256, 128], batchnorm: true, dropout: 0.1, update: 'adam', lr: 0.002, lrDecay: 0.9, batch: 128, epochs: 5, seed: 1, reg: 0 },
  spiral: { dataset: 'spiral', hidden: [64, 64], batchnorm: false, dropout: 0, update: 'adam', lr: 0.01, lrDecay: 1, batch: 32, epochs: 40, seed: 1, reg: 0 },
};

/** Limits that keep a typo from asking the GPU for gigabytes. */
const MAX_HIDDEN = 4096;
const MAX_LAYERS = 6;

type Field = Exclude<keyof Settings, 'dataset'>;

/** Each URL parameter (named as in the brief: hidden, batchnorm, dropout, update, lr, decay, batch, epochs, seed; and reg). */
const PARAMS: Record<Field, string> = {
  hidden: 'hidden',
  batchnorm: 'batchnorm',
  dropout: 'dropout',
  update: 'update',
  lr: 'lr',
  lrDecay: 'decay',
  batch: 'batch',
  epochs: 'epochs',
  seed: 'seed',
  reg: 'reg',
};

const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;

/** A decimal as a person writes one (2, 0.5, 2e-3): not '0x10', '1_000' or 'Infinity'. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Zero, or a number f32 holds as a normal value: the GPU would make a smaller one 0 (1e-50: no training at all). */
const f32Normal = (v: number) => v === 0 || Math.abs(v) >= 2 ** -126;

/** Parses one setting from its text (a URL parameter or a form field); throws a message for the user. */
export function parseField<K extends Field>(field: K, text: string): Settings[K] {
  const value = text.trim();
  const number = (check: (v: number) => boolean, what: string): number => {
    const v = DECIMAL.test(value) ? Number(value) : NaN;
    if (!check(v) || !f32Normal(v)) throw new Error(`${PARAMS[field]} must be ${what}, got "${text}"`);
    return v;
  };
  let parsed: unknown;
  switch (field) {
    case 'hidden': {
      const sizes = value.split(',').map((h) => (/^\d+$/.test(h.trim()) ? Number(h.trim()) : NaN));
      if (!value || sizes.length > MAX_LAYERS || !sizes.every((h) => positiveInt(h) && h <= MAX_HIDDEN)) {
        throw new Error(`hidden must be 1 to ${MAX_LAYERS} layer sizes from 1 to ${MAX_HIDDEN}, like 256,128; got "${text}"`);
      }
      parsed = sizes;
      break;
    }
    case 'batchnorm':
      if (!['0', '1', 'true', 'false', 'on', 'off'].includes(value.toLowerCase())) throw new Error(`batchnorm must be 1 or 0, got "${text}"`);
      parsed = ['1', 'true', 'on'].includes(value.toLowerCase());
      break;
    case 'dropout':
      parsed = number((v) => v >= 0 && v < 1, 'in [0, 1)');
      break;
    case 'update': {
      const rule = UPDATE_RULES.find((r) => r.toLowerCase() === value.toLowerCase());
      if (!rule) throw new Error(`update must be one of ${UPDATE_RULES.join(', ')}; got "${text}"`);
      parsed = rule;
      break;
    }
    case 'lr':
      parsed = number((v) => v > 0 && v <= 10, 'a positive number (at most 10, at least 1.2e-38)');
      break;
    case 'lrDecay':
      parsed = number((v) => v > 0 && v <= 1, 'in (0, 1]');
      break;
    case 'batch':
      parsed = number((v) => positiveInt(v) && v <= 4096, 'an integer from 1 to 4096');
      break;
    case 'epochs':
      parsed = number((v) => positiveInt(v) && v <= 1000, 'an integer from 1 to 1000');
      break;
    case 'seed':
      parsed = number((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32, 'an integer ≥ 0');
      break;
    case 'reg':
      parsed = number((v) => v >= 0 && v <= 100, 'a number from 0 to 100');
      break;
  }
  return parsed as Settings[K];
}

/** A setting as text (what the form field and the URL parameter show). */
export function formatField(settings: Settings, field: Field): string {
  const v = settings[field];
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

export interface UrlState {
  settings: Settings;
  autostart: boolean;
  /** Parameters that could not be used (their defaults were), as messages. */
  problems: string[];
}

/** The dataset the page starts with: the full Fashion-MNIST where it is served, else the shipped sample. */
export function defaultDataset(fullServed: boolean): DatasetName {
  return fullServed ? 'fashion-full' : 'fashion';
}

/**
 * Reads `?dataset=fashion-full|fashion|spiral&hidden=256,128&batchnorm=1&dropout=0.2&update=adam&lr=0.002&decay=0.9&batch=128&epochs=2&seed=1&reg=0.001&autostart=1`;
 * `fullServed`: whether the full Fashion-MNIST is there (the default dataset then, and fashion-full is usable).
 */
export function readUrl(search: string, fullServed = false): UrlState {
  const params = new URLSearchParams(search);
  const problems: string[] = [];
  let dataset = defaultDataset(fullServed);
  const name = params.get('dataset');
  if (name === 'fashion-full' && !fullServed) {
    problems.push('dataset=fashion-full needs the full Fashion-MNIST, which is not served with this page (the sample is used)');
    dataset = 'fashion';
  } else if (name !== null) {
    if ((DATASET_NAMES as readonly string[]).includes(name)) dataset = name as DatasetName;
    else problems.push(`dataset must be ${fullServed ? 'fashion-full, ' : ''}fashion or spiral, got "${name}"`);
  }
  const settings: Settings = { ...DEFAULTS[dataset], hidden: [...DEFAULTS[dataset].hidden] };
  for (const field of Object.keys(PARAMS) as Field[]) {
    const text = params.get(PARAMS[field]);
    if (text === null) continue;
    try {
      (settings as unknown as Record<Field, unknown>)[field] = parseField(field, text);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const autostart = params.get('autostart');
  if (autostart !== null && !['0', '1', 'true', 'false'].includes(autostart)) problems.push(`autostart must be 1 or 0, got "${autostart}"`);
  return { settings, autostart: ['1', 'true'].includes(autostart ?? ''), problems };
}

/** The URL query for these settings: the dataset, then every setting that differs from its default. */
export function toQuery(settings: Settings): string {
  const params = new URLSearchParams({ dataset: settings.dataset });
  const defaults = DEFAULTS[settings.dataset];
  for (const field of Object.keys(PARAMS) as Field[]) {
    const text = formatField(settings, field);
    if (text !== formatField(defaults, field)) params.set(PARAMS[field], text);
  }
  return `?${params.toString().replaceAll('%2C', ',')}`;
}

export const FIELDS = Object.keys(PARAMS) as Field[];
export type { Field };
