// Reductions: per-column sums of an N×D matrix (bias gradients), and the sum of a whole vector.

struct ColumnParams {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> colsum: array<f32>;
@group(0) @binding(2) var<uniform> cparams: ColumnParams;

const COL_BLOCK = 64u;
const ROW_SLICES = 4u;
var<workgroup> partial: array<array<f32, COL_BLOCK>, ROW_SLICES>;

// out[c] = Σ_r x[r, c]. A workgroup owns 64 columns; its 4 row slices each sum every 4th row
// (adjacent invocations read adjacent columns), then one slice adds the four partial sums.
@compute @workgroup_size(COL_BLOCK, ROW_SLICES)
fn column_sum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let col = flat_workgroup(wid, nwg) * COL_BLOCK + lid.x;
  var acc = 0.0;
  if (col < cparams.cols) {
    for (var r = lid.y; r < cparams.rows; r += ROW_SLICES) {
      acc += x[r * cparams.cols + col];
    }
  }
  partial[lid.y][lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && col < cparams.cols) {
    colsum[col] = partial[0][lid.x] + partial[1][lid.x] + partial[2][lid.x] + partial[3][lid.x];
  }
}

struct SumParams {
  n: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> v: array<f32>;
@group(0) @binding(1) var<storage, read_write> total: array<f32>;
@group(0) @binding(2) var<uniform> sparams: SumParams;

override SQUARE: bool = false;
override ACCUMULATE: bool = false;
const SUM_WG = 256u;
var<workgroup> lanes: array<f32, SUM_WG>;

// total[0] = scale · Σ v[i] (or Σ v[i]² when SQUARE; added to total[0] when ACCUMULATE), in one
// workgroup: each invocation strides over the vector, then a tree reduction in workgroup memory.
@compute @workgroup_size(SUM_WG)
fn sum_all(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < sparams.n; i += SUM_WG) {
    let value = v[i];
    acc += select(value, value * value, SQUARE);
  }
  lanes[lid] = acc;
  workgroupBarrier();
  for (var width = SUM_WG / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      lanes[lid] += lanes[lid + width];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let value = lanes[0] * sparams.scale;
    total[0] = select(value, total[0] + value, ACCUMULATE);
  }
}
