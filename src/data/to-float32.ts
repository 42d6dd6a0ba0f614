// datasets.toFloat32: rows of a dataset kept as packed 8-bit values (fashionMnist's X), unpacked to an f32 tensor for the layer functions.

import { gatherRange } from '../kernels/gather';
import { type Tensor, checkTensors, fmt } from '../tensor';
import { ShadergradError } from '../errors';

/**
 * Rows [start, start + count) of X (N, …) as a new f32 tensor: value / 255 for a dataset kept as
 * packed 8-bit values on the GPU (datasets.fashionMnist's X), a copy for an f32 one. The layer
 * functions read f32 tensors only; model.loss, model.predict and the Solver take X as it is.
 */
export function toFloat32(X: Tensor, start = 0, count?: number): Tensor {
  const op = 'toFloat32';
  const engine = checkTensors(op, [['X', X]], { packed: ['X'] });
  if (X.dtype !== 'f32' || X.rank < 1) throw new ShadergradError(op, `X must be f32 (N, …), got ${X.dtype} ${fmt(X.shape)}`);
  const N = X.shape[0]!;
  const rows = count ?? N - start;
  if (!Number.isInteger(start) || start < 0 || start > N) throw new ShadergradError(op, `start must be an integer in [0, ${N}], got ${start}`);
  if (!Number.isInteger(rows) || rows < 0 || start + rows > N) {
    throw new ShadergradError(op, `count must be an integer with start + count ≤ ${N}, got start ${start}, count ${count}`);
  }
  const bytes = rows * (X.size / Math.max(N, 1)) * 4;
  const limit = engine.limits.maxStorageBufferBindingSize;
  if (bytes > limit) {
    throw new ShadergradError(
      op,
      `${rows} rows of X ${fmt(X.shape)} take ${(bytes / 2 ** 20).toFixed(0)} MiB as f32, more than this device binds ` +
        `(${(limit / 2 ** 20).toFixed(0)} MiB): unpack fewer rows at a time`,
    );
  }
  return gatherRange(engine, X, start, rows);
}
