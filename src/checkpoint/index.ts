// Checkpoints: named tensors saved and loaded as safetensors, plus atomic file helpers for Node.

export {
  encodeSafetensors,
  decodeSafetensors,
  saveCheckpoint,
  loadCheckpoint,
  type HostTensor,
  type DecodedTensor,
  type DecodedSafetensors,
  type SafetensorsDType,
  type LoadCheckpointOptions,
  type LoadedCheckpoint,
} from './safetensors';
export { writeCheckpointFile, writeFiles, readCheckpointFile, type FileToWrite } from './file';
