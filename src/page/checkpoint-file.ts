// Checkpoint files on the page: a run's Solver checkpoint and its download, and what a chosen file holds before it is loaded (the dataset the page wrote in it).

import { Solver, errorReason, type CheckpointInfo } from '../index';
import type { Run } from './run';
import { DATASET_NAMES, type DatasetName } from './settings';

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

/** A checkpoint file's contents besides its tensors (Solver.checkpointInfo), its errors worded for the page. */
export function readCheckpointInfo(bytes: Uint8Array): CheckpointInfo {
  try {
    return Solver.checkpointInfo(bytes);
  } catch (error) {
    throw new Error(errorReason(error), { cause: error });
  }
}

/** The page's dataset a checkpoint names (`dataset` in the metadata of the files the page writes); null for others. */
export function namedDataset(info: CheckpointInfo): DatasetName | null {
  const name = info.metadata.dataset ?? '';
  return (DATASET_NAMES as readonly string[]).includes(name) ? (name as DatasetName) : null;
}

/** The run's Solver checkpoint, with the dataset it trains on in the metadata (for loading it back). */
export function saveRunCheckpoint(run: Run): Promise<Uint8Array> {
  return run.solver.saveCheckpoint({ metadata: { dataset: run.settings.dataset } });
}
