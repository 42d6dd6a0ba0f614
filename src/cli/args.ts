// `shadergrad train`'s command line: its flags, their defaults and checks, and --resume's checkpoint applied over them.

import { parseArgs } from 'node:util';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Solver, checkpoint, errorReason, optim, type CheckpointInfo, type UpdateRuleName } from '../index';

/**
 * The default recipe: what `shadergrad train --data DIR` alone runs. Chosen on an H200 among eight
 * candidates (bench/gpu/recipes.sh): 784-512-256-10 with batchnorm, dropout 0.3, Adam 2e-3 decayed
 * 0.85 per epoch, batch 128, 15 epochs reached 0.900 test accuracy; the README has its SwiftShader run.
 */
export const DEFAULTS = {
  hidden: '512,256',
  batchnorm: true,
  dropout: 0.3,
  update: 'adam',
  lr: 2e-3,
  lrDecay: 0.85,
  reg: 0,
  epochs: 15,
  batch: 128,
  val: 5000,
  seed: 1,
} as const;

export const HELP = `Usage: shadergrad train [options]

Trains a fully-connected network on Fashion-MNIST on the GPU (WebGPU through Dawn) and writes
model.safetensors (after every epoch), history.json and training.svg into --out. The last line
printed is a JSON summary: {"testAcc", "valAcc", "trainAcc", "epochs", "seconds", "samplesPerSec",
"adapter"} (the accuracies of one set of parameters: the best once finished, the last when
stopped). Ctrl-C stops within 20 iterations (at the next loss report) and writes the three
files (exit 130); a second Ctrl-C quits at once. Bad flags exit 2 before anything is trained.

Options:
  --data DIR        the four Fashion-MNIST files (.gz or not), or 'sample' for the subset
                    shipped with shadergrad (6,000 train, of which 600 held out for
                    validation, + 1,000 test: a quick run). Default:
                    Debian's /usr/share/datasets/fashion-mnist, else the npm run data cache,
                    else the sample
  --hidden LIST     hidden layer sizes                      (default ${DEFAULTS.hidden})
  --batchnorm       batch normalization after each hidden affine layer (default on)
  --no-batchnorm    without it
  --dropout P       probability of dropping a hidden unit   (default ${DEFAULTS.dropout})
  --update RULE     sgd | sgdMomentum | sgdNesterovMomentum | rmsprop | adam (default ${DEFAULTS.update})
  --lr RATE         learning rate                           (default ${DEFAULTS.lr})
  --lr-decay F      learning rate factor after each epoch   (default ${DEFAULTS.lrDecay})
  --reg R           L2 regularization strength              (default ${DEFAULTS.reg})
  --epochs N        epochs                                  (default ${DEFAULTS.epochs})
  --batch N         minibatch size                          (default ${DEFAULTS.batch})
  --val N           training images held out for validation (default ${DEFAULTS.val}, at most 10%)
  --limit N         use only the first N training images (at least 10)
  --seed N          seed for initialization, minibatches and dropout, 0..2^32-1 (default ${DEFAULTS.seed})
  --resume FILE     continue from a checkpoint written by an earlier run (its model.safetensors,
                    rewritten after every epoch): its model, update rule and batch size are used;
                    --dropout, --reg and --lr-decay may change, --epochs may extend the schedule
  --out DIR         output directory, checked before training (default ./shadergrad-run)
  --quiet           no progress bar
  -h, --help        this help
`;

/** A flag that is not valid: the command exits 2 with the usage. */
export class UsageError extends Error {}

/** What a run trains: every flag checked, with --resume's checkpoint applied over the defaults. */
export interface TrainConfig {
  hiddenDims: number[];
  batchnorm: boolean;
  dropout: number;
  updateRule: UpdateRuleName;
  /** The learning rate of a fresh run (a resumed one goes on from its checkpoint's). */
  lr: number;
  lrDecay: number;
  reg: number;
  epochs: number;
  batch: number;
  /** Training images to hold out for validation, as asked (at most 10% are). */
  valWanted: number;
  /** Whether --val was given (a capped one is then reported). */
  valGiven: boolean;
  limit: number | undefined;
  seed: number;
  /** --data as given (undefined: the default search). */
  data: string | undefined;
  /** --out, resolved to an absolute path. */
  out: string;
  quiet: boolean;
  /** --resume's file: its path as given, its bytes and what it was trained with. */
  resume: { path: string; bytes: Uint8Array; info: CheckpointInfo } | null;
}

/** A decimal number as a person writes one (1, 0.5, 2e-3): not '', '0x10', 'Infinity' or '1_000'. */
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/** What f32 holds as a normal number: larger ones become Infinity on the GPU, smaller ones 0. */
const f32Normal = (v: number) => Math.abs(v) >= 2 ** -126 && Math.abs(v) <= 3.4028234663852886e38;

function number(name: string, text: string | undefined, fallback: number, check: (v: number) => boolean = Number.isFinite): number {
  if (text === undefined) return fallback;
  const v = DECIMAL.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(v) || !check(v)) throw new UsageError(`--${name} ${JSON.stringify(text)} is not valid`);
  return v;
}

/** The update rules the library has, by name. */
const UPDATE_RULES = Object.keys(optim.updateRules) as UpdateRuleName[];

/**
 * `~` or `~/…` at the start of a path flag is the home directory, as the shell would have made it:
 * the shell leaves `--data=~/fmnist` alone (a tilde after `=` is not expanded).
 */
function expandHome(path: string): string;
function expandHome(path: string | undefined): string | undefined;
function expandHome(path: string | undefined): string | undefined {
  if (path === '~') return homedir();
  return path?.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/** The command line as parseArgs reads it (an unknown flag throws its ERR_PARSE_ARGS), paths' `~` expanded, and the flags it names in order. */
export function parseFlags(argv: string[]) {
  const { values, tokens } = parseArgs({
    args: argv,
    tokens: true,
    options: {
      data: { type: 'string' },
      hidden: { type: 'string' },
      batchnorm: { type: 'boolean' },
      'no-batchnorm': { type: 'boolean' },
      dropout: { type: 'string' },
      update: { type: 'string' },
      lr: { type: 'string' },
      'lr-decay': { type: 'string' },
      reg: { type: 'string' },
      epochs: { type: 'string' },
      batch: { type: 'string' },
      val: { type: 'string' },
      limit: { type: 'string' },
      seed: { type: 'string' },
      resume: { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    values: { ...values, data: expandHome(values.data), out: expandHome(values.out), resume: expandHome(values.resume) },
    given: tokens.filter((t) => t.kind === 'option').map((t) => t.name),
  };
}

export type Flags = ReturnType<typeof parseFlags>['values'];

/** Every flag checked before the GPU or the data are touched: the run's config without --resume applied, or a UsageError. */
export function checkFlags(values: Flags, given: string[]): TrainConfig {
  // A flag given twice would silently take its last value; an empty one (`--out=`, `--resume "$UNSET"`) its default.
  const twice = [...new Set(given.filter((name, i) => given.indexOf(name) !== i))];
  if (twice.length) throw new UsageError(`${twice.map((name) => `--${name}`).join(', ')} given more than once`);
  for (const name of ['data', 'update', 'resume', 'out'] as const) {
    if (values[name] !== undefined && values[name]!.trim() === '') throw new UsageError(`--${name} needs a value (it was given empty)`);
  }
  if (values.batchnorm && values['no-batchnorm']) throw new UsageError('--batchnorm and --no-batchnorm contradict each other');
  const positive = (v: number) => Number.isInteger(v) && v > 0;
  const hiddenText = values.hidden ?? DEFAULTS.hidden;
  const hiddenDims = hiddenText.split(',').map((h) => {
    const v = h.trim() === '' || !/^\d+$/.test(h.trim()) ? NaN : Number(h);
    if (!(positive(v) && v <= 65536)) throw new UsageError(`--hidden ${JSON.stringify(hiddenText)} is not valid: a comma-separated list of layer sizes in 1..65536`);
    return v;
  });
  const updateRule = (values.update ?? DEFAULTS.update) as UpdateRuleName;
  if (!UPDATE_RULES.includes(updateRule)) throw new UsageError(`--update ${values.update} is not one of ${UPDATE_RULES.join(', ')}`);
  return {
    hiddenDims,
    updateRule,
    batchnorm: values['no-batchnorm'] ? false : (values.batchnorm ?? DEFAULTS.batchnorm),
    dropout: number('dropout', values.dropout, DEFAULTS.dropout, (v) => v >= 0 && v < 1),
    lr: number('lr', values.lr, DEFAULTS.lr, (v) => v > 0 && f32Normal(v)),
    lrDecay: number('lr-decay', values['lr-decay'], DEFAULTS.lrDecay, (v) => v > 0 && v <= 1e6),
    reg: number('reg', values.reg, DEFAULTS.reg, (v) => v === 0 || (v > 0 && f32Normal(v))),
    epochs: number('epochs', values.epochs, DEFAULTS.epochs, positive),
    batch: number('batch', values.batch, DEFAULTS.batch, positive),
    valWanted: number('val', values.val, DEFAULTS.val, (v) => Number.isInteger(v) && v >= 1),
    valGiven: values.val !== undefined,
    limit: values.limit === undefined ? undefined : number('limit', values.limit, 0, (v) => Number.isInteger(v) && v >= 10),
    seed: number('seed', values.seed, DEFAULTS.seed, (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32),
    data: values.data,
    out: resolve(values.out ?? 'shadergrad-run'),
    quiet: values.quiet ?? false,
    resume: null,
  };
}

/** What a checkpoint to resume from was trained with (its metadata), or a UsageError naming the file. */
function resumeInfo(path: string, bytes: Uint8Array): CheckpointInfo {
  try {
    return Solver.checkpointInfo(bytes);
  } catch (error) {
    throw new UsageError(`--resume ${path}: ${errorReason(error)}`);
  }
}

/** --resume: the model and schedule come from the checkpoint; flags may not contradict them (a UsageError names each that does). */
export async function applyResume(config: TrainConfig, values: Flags): Promise<TrainConfig> {
  const path = values.resume;
  if (!path) return config;
  let bytes: Uint8Array;
  try {
    bytes = await checkpoint.readCheckpointFile(path);
  } catch (error) {
    throw new UsageError(`--resume ${path}: ${errorReason(error)}`);
  }
  const info = resumeInfo(path, bytes);
  const { hiddenDims, batchnorm, updateRule, batch } = config;
  const infoBatch = info.batchSize ?? DEFAULTS.batch;
  const conflicts = [
    values.hidden !== undefined && hiddenDims.join() !== info.model.hiddenDims.join() && `--hidden ${hiddenDims.join()} (the checkpoint has ${info.model.hiddenDims.join()})`,
    (values.batchnorm || values['no-batchnorm']) && batchnorm !== info.model.batchnorm && `--${batchnorm ? '' : 'no-'}batchnorm (the checkpoint has ${info.model.batchnorm ? '' : 'no '}batchnorm)`,
    values.update !== undefined && updateRule !== info.updateRule && `--update ${updateRule} (the checkpoint has ${info.updateRule})`,
    values.batch !== undefined && batch !== infoBatch && `--batch ${batch} (the checkpoint has ${infoBatch})`,
    values.lr !== undefined && '--lr (the checkpoint carries its optimizer state and current learning rate)',
    values.seed !== undefined && "--seed (the checkpoint carries its random generators' states)",
  ].filter(Boolean);
  if (conflicts.length) throw new UsageError(`--resume ${path}: these flags contradict the checkpoint: ${conflicts.join('; ')}`);
  const epochs = values.epochs === undefined ? (info.numEpochs ?? DEFAULTS.epochs) : config.epochs;
  // A finished schedule would train nothing and exit 0: say how to go on instead.
  if (info.epoch >= epochs) {
    throw new UsageError(
      values.epochs === undefined
        ? `--resume ${path}: the checkpoint finished its ${epochs} epochs; --epochs N (N > ${info.epoch}) trains it further`
        : `--epochs ${epochs}: the checkpoint has already trained ${info.epoch} epochs; give more to train it further`,
    );
  }
  return {
    ...config,
    hiddenDims: info.model.hiddenDims,
    batchnorm: info.model.batchnorm,
    updateRule: info.updateRule,
    batch: infoBatch,
    dropout: values.dropout === undefined ? info.model.dropout : config.dropout,
    reg: values.reg === undefined ? info.model.reg : config.reg,
    lrDecay: values['lr-decay'] === undefined ? (info.lrDecay ?? DEFAULTS.lrDecay) : config.lrDecay,
    epochs,
    resume: { path, bytes, info },
  };
}
