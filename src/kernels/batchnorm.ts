// Batch normalization kernels: batch statistics with running averages, train/test normalization, backward.

import source from '../../shaders/batchnorm.wgsl?raw';
import type { Engine } from '../engine/engine';
import { fmt, type Tensor } from '../tensor';
import { defineKernel, grid1d, type Kernel } from './kernel';
import { ShadergradError } from '../errors';

/**
 * How a column-reduction workgroup splits its work: `cols` adjacent columns (BN_COLS) times
 * `slices` row slices (BN_SLICES), cols·slices ≤ 256 invocations.
 */
export interface ColumnLayout {
  cols: number;
  slices: number;
}

/**
 * SwiftShader (2 CPU cores) runs a workgroup's invocations as SIMD lanes: wide column blocks and one
 * slice, each invocation walking its column's rows (in Chromium at 256×512, forward 2.00 ms and
 * backward 1.92 ms with 128×1 against 4.26 and 4.46 with 32×8; the b256 batchnorm step 174 → 155 ms).
 * A GPU has 100+ multiprocessors to fill and the row loops are latency-bound: narrow blocks
 * and many slices (on an H200, forward 4096×300: 69 µs with 4×64 vs 100 µs with 8×32 and 241 µs
 * with 32×8; 50000×10: 335 µs vs 612 µs and 2175 µs).
 */
const CPU_LAYOUT: ColumnLayout = { cols: 128, slices: 1 };
const GPU_LAYOUT: ColumnLayout = { cols: 4, slices: 64 };

function chooseColumnLayout(engine: Engine): ColumnLayout {
  return engine.isCpuAdapter ? CPU_LAYOUT : GPU_LAYOUT;
}

/** Column-reduction kernels, one per entry point and layout, made on first use. */
const columnKernels = new Map<string, Kernel>();

function columnKernel(entryPoint: 'batch_stats' | 'param_grads', layout: ColumnLayout): Kernel {
  const key = `${entryPoint}:${layout.cols}x${layout.slices}`;
  let kernel = columnKernels.get(key);
  if (!kernel) {
    if (!(layout.cols >= 1 && layout.slices >= 1 && layout.cols * layout.slices <= 256)) {
      throw new ShadergradError('batchnorm', `column layout ${layout.cols}×${layout.slices} needs 1..256 invocations`);
    }
    const stats = entryPoint === 'batch_stats';
    kernel = defineKernel({
      name: `${stats ? 'batchnorm_stats' : 'batchnorm_param_grads'}_${layout.cols}x${layout.slices}`,
      source,
      entryPoint,
      bindings: stats ? ['read', 'write', 'write', 'write', 'write'] : ['read', 'read', 'write', 'write'],
      uniforms: stats ? ['u32', 'u32', 'f32', 'f32'] : ['u32', 'u32'],
      constants: { BN_COLS: layout.cols, BN_SLICES: layout.slices },
      workgroupSize: layout.cols * layout.slices,
    });
    columnKernels.set(key, kernel);
  }
  return kernel;
}

/** The elementwise kernels' workgroup: EW_COLS columns × EW_ROWS rows (see the shader). */
const ELEMENT_COLS = 32;
const ELEMENT_ROWS = 8;
/** Rows each elementwise invocation walks, about (more when N needs over 65535 row workgroups). */
const ROWS_PER_INVOCATION = 4;

/** Grid for the elementwise kernels over N×D: column blocks × row blocks. */
function elementGrid2d(engine: Engine, rows: number, cols: number): [number, number, number] {
  const max = engine.limits.maxComputeWorkgroupsPerDimension;
  const x = Math.max(1, Math.ceil(cols / ELEMENT_COLS));
  if (x > max) throw new ShadergradError('batchnorm', `${cols} columns exceed ${max * ELEMENT_COLS}`);
  return [x, Math.min(max, Math.max(1, Math.ceil(rows / (ELEMENT_ROWS * ROWS_PER_INVOCATION)))), 1];
}

const normalizeTrainKernels = [false, true].map((relu) =>
  defineKernel({
    name: relu ? 'batchnorm_train_relu' : 'batchnorm_train',
    source,
    entryPoint: 'normalize_train',
    bindings: ['read', 'read', 'read', 'read', 'read', 'write', 'write'],
    uniforms: ['u32', 'u32', 'f32'],
    constants: { RELU: +relu },
    workgroupSize: ELEMENT_COLS * ELEMENT_ROWS,
  }),
);

const normalizeTestKernels = [false, true].map((relu) =>
  defineKernel({
    name: relu ? 'batchnorm_test_relu' : 'batchnorm_test',
    source,
    entryPoint: 'normalize_test',
    bindings: ['read', 'read', 'read', 'read', 'read', 'write'],
    uniforms: ['u32', 'u32', 'f32'],
    constants: { RELU: +relu },
    workgroupSize: ELEMENT_COLS * ELEMENT_ROWS,
  }),
);

const inputGradKernel = defineKernel({
  name: 'batchnorm_input_grad',
  source,
  entryPoint: 'input_grad',
  bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'write'],
  uniforms: ['u32', 'u32'],
  workgroupSize: ELEMENT_COLS * ELEMENT_ROWS,
});

function columnGrid(cols: number, layout: ColumnLayout): [number, number, number] {
  return grid1d(Math.ceil(cols / layout.cols));
}

export interface BatchnormTrainResult {
  out: Tensor;
  xhat: Tensor;
  invStd: Tensor;
}

/**
 * Train-mode batch normalization of x (N ≥ 1 rows, D columns; shapes checked by the op):
 * out = gamma·xhat + beta (ReLU'd when `relu`), with xhat and invStd kept for backward and the
 * running statistics updated in place.
 */
export function batchnormTrain(
  engine: Engine,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  { eps, momentum, relu, layout = chooseColumnLayout(engine) }: { eps: number; momentum: number; relu: boolean; layout?: ColumnLayout },
): BatchnormTrainResult {
  const [N, D] = [x.shape[0]!, x.shape[1]!];
  // The batch mean as (shift, offset) per column: see batch_stats in the shader.
  const center = engine.empty([D, 2], 'f32', 'batchnorm_center');
  const invStd = engine.empty([D], 'f32', 'batchnorm_inv_std');
  if (D) engine.dispatch(columnKernel('batch_stats', layout), [x, center, invStd, runningMean, runningVar], columnGrid(D, layout), [N, D, eps, momentum]);
  const kernel = normalizeTrainKernels[+relu]!;
  const xhat = engine.empty(x.shape, 'f32', 'batchnorm_xhat');
  const out = engine.empty(x.shape, 'f32', kernel.name);
  if (x.size) engine.dispatch(kernel, [x, center, invStd, gamma, beta, xhat, out], elementGrid2d(engine, N, D), [N, D, eps]);
  center.dispose();
  return { out, xhat, invStd };
}

/** Test-mode batch normalization with the running statistics (ReLU'd when `relu`). */
export function batchnormTest(
  engine: Engine,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  { eps, relu }: { eps: number; relu: boolean },
): Tensor {
  const kernel = normalizeTestKernels[+relu]!;
  const out = engine.empty(x.shape, 'f32', kernel.name);
  const [N, D] = [x.shape[0]!, x.shape[1]!];
  if (x.size) engine.dispatch(kernel, [x, runningMean, runningVar, gamma, beta, out], elementGrid2d(engine, N, D), [N, D, eps]);
  return out;
}

/**
 * Gradients of train-mode batch normalization given dout (N, D) and what the forward pass kept;
 * dgamma and dbeta new, or written into `into`'s (f32, D elements: views of a gradient slab).
 */
export function batchnormGrads(
  engine: Engine,
  dout: Tensor,
  xhat: Tensor,
  gamma: Tensor,
  invStd: Tensor,
  layout: ColumnLayout = chooseColumnLayout(engine),
  into: { dgamma?: Tensor; dbeta?: Tensor } = {},
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const [N, D] = [xhat.shape[0]!, xhat.shape[1]!];
  for (const [name, t] of Object.entries(into)) {
    if (!t) continue;
    if (t.size !== D || t.dtype !== 'f32') throw new ShadergradError('batchnormBackward', `into.${name} must be an f32 tensor of ${D} elements, got ${t.dtype} ${fmt(t.shape)}`);
    const storage = t.storageFor('batchnormBackward'); // throws now if it was disposed
    if (storage === dout.storageFor('batchnormBackward') || storage === xhat.storageFor('batchnormBackward')) {
      throw new ShadergradError('batchnormBackward', `into.${name} shares its GPU buffer with dout or the cache (they are read while it is written)`);
    }
  }
  const dgamma = into.dgamma ?? engine.empty([D], 'f32', 'batchnorm_dgamma');
  const dbeta = into.dbeta ?? engine.empty([D], 'f32', 'batchnorm_dbeta');
  if (D) engine.dispatch(columnKernel('param_grads', layout), [dout, xhat, dgamma, dbeta], columnGrid(D, layout), [N, D]);
  const dx = engine.empty(xhat.shape, 'f32', inputGradKernel.name);
  if (xhat.size) {
    engine.dispatch(inputGradKernel, [dout, xhat, gamma, invStd, dgamma, dbeta, dx], elementGrid2d(engine, N, D), [N, D]);
  }
  return { dx, dgamma, dbeta };
}
