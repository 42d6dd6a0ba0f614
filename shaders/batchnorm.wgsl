// Batch normalization over the rows of an N×D matrix: batch statistics, train/test normalization, backward.

// A column-reduction workgroup owns BN_COLS adjacent columns (adjacent invocations read adjacent
// addresses); its BN_SLICES row slices each walk every BN_SLICES-th row, then combine in
// workgroup memory. The layout is chosen per device (see src/kernels/batchnorm.ts).
override BN_COLS: u32 = 32u;
override BN_SLICES: u32 = 8u;

// ---- train forward: batch mean and variance, running averages updated in place -----------------

struct StatsParams {
  rows: u32,
  cols: u32,
  eps: f32,
  momentum: f32,
}

@group(0) @binding(0) var<storage, read> stats_x: array<f32>;
@group(0) @binding(1) var<storage, read_write> batch_center: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> batch_inv_std: array<f32>;
@group(0) @binding(3) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(5) var<uniform> sparams: StatsParams;

// Slice s's partial sum for column c at [s * BN_COLS + c].
var<workgroup> slice_sums: array<f32, BN_COLS * BN_SLICES>;
var<workgroup> column_offset: array<f32, BN_COLS>;

fn sum_over_slices(c: u32) -> f32 {
  var total = 0.0;
  for (var s = 0u; s < BN_SLICES; s++) {
    total += slice_sums[s * BN_COLS + c];
  }
  return total;
}

// Two passes over the workgroup's columns, on data shifted by the column's first value (so a large
// mean does not swamp the f32 sums, and x − shift is exact for values near it): the mean offset
// first, then the mean squared deviation from the mean (the biased variance; no E[x²] − E[x]²
// cancellation). The batch mean is kept as (shift, offset) for the normalization; the running
// averages become momentum·running + (1 − momentum)·batch.
@compute @workgroup_size(BN_COLS, BN_SLICES)
fn batch_stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = sparams.rows;
  let cols = sparams.cols;
  let col = flat_workgroup(wid, nwg) * BN_COLS + lid.x;
  let in_range = col < cols;

  var shift = 0.0;
  var sum = 0.0;
  if (in_range) {
    shift = stats_x[col];
    for (var r = lid.y; r < rows; r += BN_SLICES) {
      sum += stats_x[r * cols + col] - shift;
    }
  }
  slice_sums[lid.y * BN_COLS + lid.x] = sum;
  workgroupBarrier();
  if (lid.y == 0u) {
    column_offset[lid.x] = sum_over_slices(lid.x) / f32(rows);
  }
  workgroupBarrier();

  let offset = column_offset[lid.x];
  var squares = 0.0;
  if (in_range) {
    for (var r = lid.y; r < rows; r += BN_SLICES) {
      let d = (stats_x[r * cols + col] - shift) - offset;
      squares += d * d;
    }
  }
  slice_sums[lid.y * BN_COLS + lid.x] = squares;
  workgroupBarrier();
  if (lid.y == 0u && in_range) {
    let variance = sum_over_slices(lid.x) / f32(rows);
    let m = sparams.momentum;
    batch_center[col] = vec2f(shift, offset);
    batch_inv_std[col] = 1.0 / sqrt(variance + sparams.eps);
    running_mean[col] = m * running_mean[col] + (1.0 - m) * (shift + offset);
    running_var[col] = m * running_var[col] + (1.0 - m) * variance;
  }
}

// ---- elementwise work over N×D -----------------------------------------------------------------

// A workgroup covers EW_COLS adjacent columns × EW_ROWS rows at a time; each invocation keeps its
// column's parameters in registers and walks down the rows (no per-element division or gathers).
const EW_COLS = 32u;
const EW_ROWS = 8u;

struct ElementParams {
  rows: u32,
  cols: u32,
  eps: f32,
}

override RELU: bool = false;

fn relu_if_fused(y: f32) -> f32 {
  return select(y, relu(y), RELU);
}

@group(0) @binding(0) var<storage, read> norm_x: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;

// Train mode: xhat = (x − mean)·invStd from the batch statistics, the mean as (shift, offset);
// out = gamma·xhat + beta (ReLU'd when RELU); xhat is kept for backward.
@group(0) @binding(1) var<storage, read> norm_center: array<vec2f>;
@group(0) @binding(2) var<storage, read> norm_inv_std: array<f32>;
@group(0) @binding(5) var<storage, read_write> norm_xhat: array<f32>;
@group(0) @binding(6) var<storage, read_write> norm_out: array<f32>;
@group(0) @binding(7) var<uniform> nparams: ElementParams;

@compute @workgroup_size(EW_COLS, EW_ROWS)
fn normalize_train(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let cols = nparams.cols;
  let c = wid.x * EW_COLS + lid.x;
  if (c >= cols) {
    return;
  }
  let center = norm_center[c];
  let inv_std = norm_inv_std[c];
  let g = gamma[c];
  let b = beta[c];
  for (var r = wid.y * EW_ROWS + lid.y; r < nparams.rows; r += nwg.y * EW_ROWS) {
    let i = r * cols + c;
    let xhat = ((norm_x[i] - center.x) - center.y) * inv_std;
    norm_xhat[i] = xhat;
    norm_out[i] = relu_if_fused(g * xhat + b);
  }
}

// Test mode: out = gamma·(x − runningMean)/sqrt(runningVar + eps) + beta (ReLU'd when RELU).
@group(0) @binding(1) var<storage, read> test_running_mean: array<f32>;
@group(0) @binding(2) var<storage, read> test_running_var: array<f32>;
@group(0) @binding(5) var<storage, read_write> test_out: array<f32>;
@group(0) @binding(6) var<uniform> tparams: ElementParams;

@compute @workgroup_size(EW_COLS, EW_ROWS)
fn normalize_test(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let cols = tparams.cols;
  let c = wid.x * EW_COLS + lid.x;
  if (c >= cols) {
    return;
  }
  let mean = test_running_mean[c];
  let inv_std = 1.0 / sqrt(test_running_var[c] + tparams.eps);
  let g = gamma[c];
  let b = beta[c];
  for (var r = wid.y * EW_ROWS + lid.y; r < tparams.rows; r += nwg.y * EW_ROWS) {
    let i = r * cols + c;
    test_out[i] = relu_if_fused(g * ((norm_x[i] - mean) * inv_std) + b);
  }
}

// ---- backward ----------------------------------------------------------------------------------

struct GradParams {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> grad_dout: array<f32>;
@group(0) @binding(1) var<storage, read> grad_xhat: array<f32>;
@group(0) @binding(2) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(4) var<uniform> gparams: GradParams;

// (Σ_rows dout·xhat, Σ_rows dout) per column.
var<workgroup> slice_grads: array<vec2f, BN_COLS * BN_SLICES>;

// dgamma = Σ_rows dout·xhat and dbeta = Σ_rows dout, in one column reduction.
@compute @workgroup_size(BN_COLS, BN_SLICES)
fn param_grads(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = gparams.rows;
  let cols = gparams.cols;
  let col = flat_workgroup(wid, nwg) * BN_COLS + lid.x;
  var acc = vec2f();
  if (col < cols) {
    for (var r = lid.y; r < rows; r += BN_SLICES) {
      let i = r * cols + col;
      let g = grad_dout[i];
      acc += vec2f(g * grad_xhat[i], g);
    }
  }
  slice_grads[lid.y * BN_COLS + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && col < cols) {
    var total = vec2f();
    for (var s = 0u; s < BN_SLICES; s++) {
      total += slice_grads[s * BN_COLS + lid.x];
    }
    dgamma[col] = total.x;
    dbeta[col] = total.y;
  }
}

@group(0) @binding(2) var<storage, read> dx_gamma: array<f32>;
@group(0) @binding(3) var<storage, read> dx_inv_std: array<f32>;
@group(0) @binding(4) var<storage, read> dx_dgamma: array<f32>;
@group(0) @binding(5) var<storage, read> dx_dbeta: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<uniform> dparams: GradParams;

// dx = (gamma·invStd / N)·(N·dout − dbeta − xhat·dgamma), written as
// gamma·invStd·(dout − (dbeta/N + xhat·dgamma/N)).
@compute @workgroup_size(EW_COLS, EW_ROWS)
fn input_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = dparams.rows;
  let cols = dparams.cols;
  let c = wid.x * EW_COLS + lid.x;
  if (c >= cols) {
    return;
  }
  let scale = dx_gamma[c] * dx_inv_std[c];
  let mean_dbeta = dx_dbeta[c] / f32(rows);
  let mean_dgamma = dx_dgamma[c] / f32(rows);
  for (var r = wid.y * EW_ROWS + lid.y; r < rows; r += nwg.y * EW_ROWS) {
    let i = r * cols + c;
    dx[i] = scale * (grad_dout[i] - (mean_dbeta + grad_xhat[i] * mean_dgamma));
  }
}
