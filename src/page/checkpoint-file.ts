// Checkpoint files on the page: a download of Solver.saveCheckpoint()'s bytes, and what a chosen file holds before it is loaded.

import { checkpoint, type UpdateRuleName } from '../index';
import { DATASET_NAMES, UPDATE_RULES, type DatasetName } from './settings';

/** Saves bytes as a file through a temporary link. */
export function downloadBytes(bytes: Uint8Array, fileName: string): void {
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started by now; the URL can go once the click has been handled.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The model and schedule a Solver checkpoint was written with (its metadata). */
export interface CheckpointInfo {
  inputDim: number;
  hiddenDims: number[];
  numClasses: number;
  batchnorm: boolean;
  dropout: number;
  reg: number;
  updateRule: UpdateRuleName;
  learningRate: number | null;
  epoch: number;
  iteration: number;
  /** Absent from checkpoints written before the Solver recorded its schedule. */
  batchSize: number | null;
  numEpochs: number | null;
  lrDecay: number | null;
  /** The page's dataset it trained on (`dataset` in the metadata: files the page wrote); null otherwise. */
  dataset: DatasetName | null;
}

/** Reads a Solver checkpoint's metadata; throws an Error a person can act on. */
export function readCheckpointInfo(bytes: Uint8Array): CheckpointInfo {
  let metadata: Record<string, string>;
  try {
    metadata = checkpoint.decodeSafetensors(bytes).metadata;
  } catch (error) {
    throw new Error(`not a safetensors file: ${(error as Error).message.replace(/^shadergrad: /, '')}`);
  }
  if (metadata.format !== 'shadergrad-solver-1') {
    throw new Error(`a safetensors file, but not a shadergrad Solver checkpoint (its format is ${metadata.format ?? 'missing'})`);
  }
  const model = JSON.parse(metadata.model ?? '{}') as Partial<CheckpointInfo>;
  const optim = JSON.parse(metadata.optimConfig ?? '{}') as { learningRate?: number };
  const updateRule = metadata.updateRule as UpdateRuleName;
  if (!UPDATE_RULES.includes(updateRule)) throw new Error(`the checkpoint names an unknown update rule: ${metadata.updateRule}`);
  const optional = (text: string | undefined) => (text === undefined || !Number.isFinite(Number(text)) ? null : Number(text));
  return {
    inputDim: Number(model.inputDim),
    hiddenDims: Array.isArray(model.hiddenDims) ? model.hiddenDims.map(Number) : [],
    numClasses: Number(model.numClasses),
    batchnorm: !!model.batchnorm,
    dropout: Number(model.dropout ?? 0),
    reg: Number(model.reg ?? 0),
    updateRule,
    learningRate: typeof optim.learningRate === 'number' ? optim.learningRate : null,
    epoch: Number(metadata.epoch ?? 0),
    iteration: Number(metadata.iteration ?? 0),
    batchSize: optional(metadata.batchSize),
    numEpochs: optional(metadata.numEpochs),
    lrDecay: optional(metadata.lrDecay),
    dataset: (DATASET_NAMES as readonly string[]).includes(metadata.dataset ?? '') ? (metadata.dataset as DatasetName) : null,
  };
}
