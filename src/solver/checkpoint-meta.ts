// A Solver checkpoint's metadata: what the Solver writes there, and its reading back, checked whole before anything is loaded.

import { decodeSafetensors } from '../checkpoint/index';
import { isUpdateRule, type UpdateRuleName } from '../optim/rules';
import { Random } from '../random';
import { ShadergradError, errorMessage, errorReason } from '../errors';

/** The `format` of a Solver checkpoint's metadata. */
export const SOLVER_FORMAT = 'shadergrad-solver-1';

/** The model a checkpoint was written from (FullyConnectedNet's options). */
export interface CheckpointModel {
  inputDim: number;
  hiddenDims: number[];
  numClasses: number;
  batchnorm: boolean;
  dropout: number;
  reg: number;
}

/** What a Solver checkpoint holds besides its tensors: read with Solver.checkpointInfo(bytes), no GPU needed. */
export interface CheckpointInfo {
  model: CheckpointModel;
  updateRule: UpdateRuleName;
  /** The optimizer's hyperparameters when it was written (learningRate already decayed, …). */
  optimConfig: Record<string, number>;
  epoch: number;
  iteration: number;
  bestValAcc: number;
  /** The schedule; null in checkpoints written before the Solver recorded it. */
  batchSize: number | null;
  numEpochs: number | null;
  lrDecay: number | null;
  /** How many training images it was trained on (XTrain's rows); null in checkpoints from before this was recorded. */
  trainSamples: number | null;
  lossHistory: number[];
  trainAccHistory: number[];
  valAccHistory: number[];
  /** The caller's own fields, given to saveCheckpoint as `metadata` (e.g. the dataset it trained on). */
  metadata: Record<string, string>;
}

/** A Solver's state as its checkpoints' metadata stores it: every value a string. */
interface SolverMeta {
  format: string;
  model: string;
  updateRule: string;
  optimConfig: string;
  batchSize: string;
  numEpochs: string;
  lrDecay: string;
  trainSamples: string;
  epoch: string;
  iteration: string;
  bestValAcc: string;
  lossHistory: string;
  trainAccHistory: string;
  valAccHistory: string;
  rng: string;
  dropoutRng?: string;
}

/** The metadata keys the Solver writes itself (a caller's own metadata may not reuse them). */
export const SOLVER_KEYS = [
  'format', 'model', 'updateRule', 'optimConfig', 'batchSize', 'numEpochs', 'lrDecay', 'trainSamples',
  'epoch', 'iteration', 'bestValAcc', 'lossHistory', 'trainAccHistory', 'valAccHistory', 'rng', 'dropoutRng',
] as const satisfies ReadonlyArray<keyof SolverMeta>;
// Every key of SolverMeta is in SOLVER_KEYS: a key added to one and not the other does not compile.
const everyKeyListed: Exclude<keyof SolverMeta, (typeof SOLVER_KEYS)[number]> extends never ? true : never = true;
void everyKeyListed;

/** What a Solver writes into a checkpoint's metadata (saveCheckpoint), the inverse of parseSolverMeta. */
export function encodeSolverMeta(state: Omit<SolverState, 'metadata'> & { trainSamples: number; batchSize: number; numEpochs: number; lrDecay: number; rng: number[] }): SolverMeta {
  return {
    format: SOLVER_FORMAT,
    model: JSON.stringify(state.model),
    updateRule: state.updateRule,
    optimConfig: JSON.stringify(state.optimConfig),
    // The schedule (iterations per epoch follow from the batch size): a reader resumes with the same one.
    batchSize: String(state.batchSize),
    numEpochs: String(state.numEpochs),
    lrDecay: String(state.lrDecay),
    // The data's size: a checkpoint resumed on other data would count other epochs.
    trainSamples: String(state.trainSamples),
    epoch: String(state.epoch),
    iteration: String(state.iteration),
    bestValAcc: String(state.bestValAcc),
    lossHistory: JSON.stringify(state.lossHistory),
    trainAccHistory: JSON.stringify(state.trainAccHistory),
    valAccHistory: JSON.stringify(state.valAccHistory),
    // Resuming continues the same minibatch and dropout sequences.
    rng: JSON.stringify(state.rng),
    ...(state.dropoutRng ? { dropoutRng: JSON.stringify(state.dropoutRng) } : {}),
  };
}

/** A checkpoint's metadata parsed whole, with the random generators' states that resume the same sequences. */
export interface SolverState extends CheckpointInfo {
  rng: number[] | null;
  dropoutRng: number[] | null;
}

/** Reads the metadata of a Solver checkpoint's bytes; throws an Error naming `op` and what is wrong. */
export function readSolverMeta(bytes: Uint8Array, op: string): SolverState {
  let meta: Record<string, string>;
  try {
    meta = decodeSafetensors(bytes).metadata;
  } catch (cause) {
    throw new ShadergradError(op, `not a safetensors file: ${errorReason(cause)}`, { cause });
  }
  return parseSolverMeta(meta, op);
}

/** Parses a Solver checkpoint's metadata, every field checked, before anything is written anywhere. */
export function parseSolverMeta(meta: Record<string, string>, op: string): SolverState {
  if (meta.format !== SOLVER_FORMAT) throw new ShadergradError(op, `not a shadergrad Solver checkpoint (metadata format is ${meta.format ?? 'missing'})`);
  const json = (key: string, fallback: string): unknown => {
    try {
      return JSON.parse(meta[key] ?? fallback);
    } catch (cause) {
      throw new ShadergradError(op, `metadata ${key} is not JSON: ${(cause as Error).message}`, { cause });
    }
  };
  const count = (key: string): number => {
    const v = Number(meta[key] ?? 0);
    if (!Number.isInteger(v) || v < 0) throw new ShadergradError(op, `metadata ${key} must be a non-negative integer, got ${meta[key]}`);
    return v;
  };
  // Schedule fields that older checkpoints lack: null when absent, checked when present.
  const optional = (key: string, ok: (v: number) => boolean, what: string): number | null => {
    if (meta[key] === undefined) return null;
    const v = Number(meta[key]);
    if (meta[key].trim() === '' || !ok(v)) throw new ShadergradError(op, `metadata ${key} must be ${what}, got ${meta[key]}`);
    return v;
  };
  const positiveInteger = (v: number) => Number.isInteger(v) && v >= 1;
  const numbers = (key: string): number[] => {
    const v = json(key, '[]');
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' && x !== null)) throw new ShadergradError(op, `metadata ${key} must be a list of numbers`);
    return v as number[];
  };
  const rngState = (key: string): number[] | null => {
    if (!meta[key]) return null;
    const v = json(key, 'null');
    const probe = new Random();
    try {
      probe.setState(v as number[]);
    } catch (cause) {
      throw new ShadergradError(op, `metadata ${key}: ${errorMessage(cause)}`, { cause });
    }
    return v as number[];
  };
  if (!isUpdateRule(meta.updateRule)) throw new ShadergradError(op, `metadata updateRule names no update rule shadergrad knows: ${meta.updateRule ?? 'missing'}`);
  const optimConfig = json('optimConfig', '{}');
  if (optimConfig === null || typeof optimConfig !== 'object' || Array.isArray(optimConfig)) throw new ShadergradError(op, `metadata optimConfig must be an object`);
  const hyper = Object.entries(optimConfig).filter(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
  if (hyper.length) throw new ShadergradError(op, `metadata optimConfig must hold finite numbers, got ${hyper.map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')}`);
  const bestValAcc = Number(meta.bestValAcc ?? 0);
  if (!(bestValAcc >= 0 && bestValAcc <= 1)) throw new ShadergradError(op, `metadata bestValAcc must be in [0, 1], got ${meta.bestValAcc}`);
  const own = new Set<string>(SOLVER_KEYS);
  return {
    model: parseModel(json('model', 'null'), op),
    updateRule: meta.updateRule,
    optimConfig: optimConfig as Record<string, number>,
    epoch: count('epoch'),
    iteration: count('iteration'),
    bestValAcc,
    batchSize: optional('batchSize', positiveInteger, 'a positive integer'),
    numEpochs: optional('numEpochs', positiveInteger, 'a positive integer'),
    lrDecay: optional('lrDecay', (v) => v > 0 && Number.isFinite(v), 'a positive number'),
    trainSamples: optional('trainSamples', positiveInteger, 'a positive integer'),
    lossHistory: numbers('lossHistory'),
    trainAccHistory: numbers('trainAccHistory'),
    valAccHistory: numbers('valAccHistory'),
    metadata: Object.fromEntries(Object.entries(meta).filter(([key]) => !own.has(key))),
    rng: rngState('rng'),
    dropoutRng: rngState('dropoutRng'),
  };
}

function parseModel(value: unknown, op: string): CheckpointModel {
  const bad = (what: string): never => {
    throw new ShadergradError(op, `metadata model ${what}, got ${JSON.stringify(value)}`);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('must be an object');
  const m = value as Record<string, unknown>;
  const positive = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (!positive(m.inputDim)) bad('inputDim must be a positive integer');
  if (!positive(m.numClasses)) bad('numClasses must be a positive integer');
  if (!Array.isArray(m.hiddenDims) || !m.hiddenDims.every(positive)) bad('hiddenDims must be a list of positive integers');
  const dropout = m.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) bad('dropout must be in [0, 1)');
  const reg = m.reg ?? 0;
  if (typeof reg !== 'number' || !(reg >= 0 && Number.isFinite(reg))) bad('reg must be a non-negative number');
  return {
    inputDim: m.inputDim as number,
    hiddenDims: [...(m.hiddenDims as number[])],
    numClasses: m.numClasses as number,
    batchnorm: !!m.batchnorm,
    dropout: dropout as number,
    reg: reg as number,
  };
}
