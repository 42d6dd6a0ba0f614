// Softmax and SVM losses: per-row loss and gradient fused in one pass, then the mean over rows.

// Bit pattern of a quiet NaN, written for rows whose label is outside [0, C): WGSL may assume
// floats are never NaN, so NaN is stored as bits, never computed.
const NAN_BITS = 0x7FC00000u;

struct RowParams {
  rows: u32,
  classes: u32,
  // 1 / N: the losses are means over the rows.
  inv_n: f32,
}

@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
// f32 gradients and per-row losses, stored as their bits (NaN bits for rows with a bad label).
@group(0) @binding(2) var<storage, read_write> dscores: array<u32>;
@group(0) @binding(3) var<storage, read_write> row_loss: array<u32>;
@group(0) @binding(4) var<uniform> rparams: RowParams;

// The row's label, and whether it lies in [0, C); a bad label reads class 0 instead, never out of the row.
struct Label {
  index: u32,
  valid: bool,
}

fn row_label(row: u32) -> Label {
  let label = labels[row];
  let valid = label >= 0 && u32(label) < rparams.classes;
  return Label(select(0u, u32(label), valid), valid);
}

fn f32_bits(value: f32, valid: bool) -> u32 {
  return select(NAN_BITS, bitcast<u32>(value), valid);
}

// Running (max, Σ exp(v − max)) of a sequence, updated one value at a time: one exp per value.
struct OnlineSum {
  max: f32,
  sum: f32,
}

// exp(v − max) for v ≤ max, and 1 where they are equal: −∞ − (−∞) would be NaN, and a row starting
// with −∞ scores (masked classes) would lose its loss.
fn exp_below(v: f32, max: f32) -> f32 {
  return select(exp(v - max), 1.0, v == max);
}

fn online_add(acc: OnlineSum, v: f32) -> OnlineSum {
  if (v > acc.max) {
    return OnlineSum(v, acc.sum * exp(acc.max - v) + 1.0);
  }
  return OnlineSum(acc.max, acc.sum + exp_below(v, acc.max));
}

fn online_merge(a: OnlineSum, b: OnlineSum) -> OnlineSum {
  let m = max(a.max, b.max);
  return OnlineSum(m, a.sum * exp_below(a.max, m) + b.sum * exp_below(b.max, m));
}

// ---- one invocation per row (small C) ------------------------------------------------------------

const ROW_WG = 64u;

// Softmax cross-entropy of one row: loss = log Σ exp(x − max) + max − x_y (stable for any scale);
// dx = (softmax(x) − onehot(y)) / N.
@compute @workgroup_size(ROW_WG)
fn softmax_per_row(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flat_invocation(wid, nwg, lid, ROW_WG);
  if (row >= rparams.rows) {
    return;
  }
  let C = rparams.classes;
  let base = row * C;
  let label = row_label(row);
  // Start the running max at the row's first score (C ≥ 1), so no infinity is ever needed.
  var acc = OnlineSum(scores[base], 0.0);
  for (var c = 0u; c < C; c++) {
    acc = online_add(acc, scores[base + c]);
  }
  let scale = rparams.inv_n / acc.sum;
  for (var c = 0u; c < C; c++) {
    let g = exp(scores[base + c] - acc.max) * scale - select(0.0, rparams.inv_n, c == label.index);
    dscores[base + c] = f32_bits(g, label.valid);
  }
  row_loss[row] = f32_bits((acc.max - scores[base + label.index]) + log(acc.sum), label.valid);
}

// Multiclass SVM of one row: loss = Σ_{j≠y} max(0, x_j − x_y + 1); dx = 1/N on each positive
// margin, −(their count)/N on the correct class.
@compute @workgroup_size(ROW_WG)
fn svm_per_row(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flat_invocation(wid, nwg, lid, ROW_WG);
  if (row >= rparams.rows) {
    return;
  }
  let C = rparams.classes;
  let base = row * C;
  let label = row_label(row);
  let correct = scores[base + label.index];
  var loss = 0.0;
  var positive = 0u;
  for (var c = 0u; c < C; c++) {
    let margin = (scores[base + c] - correct) + 1.0;
    let counts = margin > 0.0 && c != label.index;
    if (counts) {
      loss += margin;
      positive++;
    }
    dscores[base + c] = f32_bits(select(0.0, rparams.inv_n, counts), label.valid);
  }
  // Rewrites the correct class's 0 from the loop: same invocation, so in order.
  dscores[base + label.index] = f32_bits(-f32(positive) * rparams.inv_n, label.valid);
  row_loss[row] = f32_bits(loss, label.valid);
}

// ---- one workgroup per row (large C) -------------------------------------------------------------

const ROW_LANES = 64u;
var<workgroup> lane_a: array<f32, ROW_LANES>;
var<workgroup> lane_b: array<f32, ROW_LANES>;

@compute @workgroup_size(ROW_LANES)
fn softmax_per_workgroup(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flat_workgroup(wid, nwg);
  if (row >= rparams.rows) {
    return;
  }
  let C = rparams.classes;
  let base = row * C;
  let label = row_label(row);
  var acc = OnlineSum(scores[base], 0.0);
  for (var c = lid; c < C; c += ROW_LANES) {
    acc = online_add(acc, scores[base + c]);
  }
  lane_a[lid] = acc.max;
  lane_b[lid] = acc.sum;
  workgroupBarrier();
  for (var width = ROW_LANES / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      let merged = online_merge(OnlineSum(lane_a[lid], lane_b[lid]), OnlineSum(lane_a[lid + width], lane_b[lid + width]));
      lane_a[lid] = merged.max;
      lane_b[lid] = merged.sum;
    }
    workgroupBarrier();
  }
  let row_max = lane_a[0];
  let row_sum = lane_b[0];
  let scale = rparams.inv_n / row_sum;
  for (var c = lid; c < C; c += ROW_LANES) {
    let g = exp(scores[base + c] - row_max) * scale - select(0.0, rparams.inv_n, c == label.index);
    dscores[base + c] = f32_bits(g, label.valid);
  }
  if (lid == 0u) {
    row_loss[row] = f32_bits((row_max - scores[base + label.index]) + log(row_sum), label.valid);
  }
}

@compute @workgroup_size(ROW_LANES)
fn svm_per_workgroup(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flat_workgroup(wid, nwg);
  if (row >= rparams.rows) {
    return;
  }
  let C = rparams.classes;
  let base = row * C;
  let label = row_label(row);
  let correct = scores[base + label.index];
  var loss = 0.0;
  var positive = 0.0;
  for (var c = lid; c < C; c += ROW_LANES) {
    let margin = (scores[base + c] - correct) + 1.0;
    let counts = margin > 0.0 && c != label.index;
    if (counts) {
      loss += margin;
      positive += 1.0;
    }
    // The correct class is written once, below, when the count is known (a bad row: NaN here).
    if (c != label.index || !label.valid) {
      dscores[base + c] = f32_bits(select(0.0, rparams.inv_n, counts), label.valid);
    }
  }
  lane_a[lid] = loss;
  lane_b[lid] = positive;
  workgroupBarrier();
  for (var width = ROW_LANES / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      lane_a[lid] += lane_a[lid + width];
      lane_b[lid] += lane_b[lid + width];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    if (label.valid) {
      dscores[base + label.index] = bitcast<u32>(-lane_b[0] * rparams.inv_n);
    }
    row_loss[row] = f32_bits(lane_a[0], label.valid);
  }
}

// ---- mean over rows ----------------------------------------------------------------------------

struct MeanParams {
  n: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> losses: array<u32>;
@group(0) @binding(1) var<storage, read_write> mean: array<u32>;
@group(0) @binding(2) var<uniform> mparams: MeanParams;

const MEAN_WG = 256u;
var<workgroup> partial: array<f32, MEAN_WG>;
var<workgroup> nan_rows: atomic<u32>;

// mean[0] = scale · Σ losses, in one workgroup; NaN bits if any row's loss is NaN (checked on the
// bits, so it holds whatever the compiler assumes about floating-point NaN).
@compute @workgroup_size(MEAN_WG)
fn mean_rows(@builtin(local_invocation_index) lid: u32) {
  // Workgroup memory is not zeroed for us (the engine turns Dawn's zero-initialization off).
  if (lid == 0u) {
    atomicStore(&nan_rows, 0u);
  }
  workgroupBarrier();
  var acc = 0.0;
  var has_nan = false;
  for (var i = lid; i < mparams.n; i += MEAN_WG) {
    let bits = losses[i];
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
      has_nan = true;
    } else {
      acc += bitcast<f32>(bits);
    }
  }
  partial[lid] = acc;
  if (has_nan) {
    atomicOr(&nan_rows, 1u);
  }
  workgroupBarrier();
  for (var width = MEAN_WG / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      partial[lid] += partial[lid + width];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    mean[0] = select(bitcast<u32>(partial[0] * mparams.scale), NAN_BITS, atomicLoad(&nan_rows) != 0u);
  }
}
