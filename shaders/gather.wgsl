// Row gathers: a minibatch taken from a dataset on the GPU by row indices.

struct Params {
  rows: u32,     // rows in the source
  cols: u32,     // elements per row
  count: u32,    // indices (rows gathered)
  scale: f32,    // 8-bit sources: value · scale (1/255 gives [0, 1])
}

@group(0) @binding(0) var<storage, read> indices: array<i32>;
@group(0) @binding(1) var<storage, read> src_f32: array<f32>;
@group(0) @binding(2) var<storage, read_write> out_f32: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// NaN made at run time (a constant NaN is not a valid WGSL f32 constant).
fn nan() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

// An index outside [0, rows) never reads out of bounds: its row becomes NaN.
fn source_row(i: u32) -> i32 {
  let r = indices[i];
  return select(-1, r, r >= 0 && u32(r) < params.rows);
}

@compute @workgroup_size(256)
fn gather_f32(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let e = flat_invocation(wid, nwg, lid, 256u);
  if (e >= params.count * params.cols) { return; }
  let i = e / params.cols;
  let c = e % params.cols;
  let r = source_row(i);
  out_f32[e] = select(nan(), src_f32[u32(max(r, 0)) * params.cols + c], r >= 0);
}

@group(0) @binding(1) var<storage, read> src_u8: array<u32>;

@compute @workgroup_size(256)
fn gather_unorm8(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let e = flat_invocation(wid, nwg, lid, 256u);
  if (e >= params.count * params.cols) { return; }
  let i = e / params.cols;
  let c = e % params.cols;
  let r = source_row(i);
  let byte = u32(max(r, 0)) * params.cols + c;
  let value = (src_u8[byte / 4u] >> (8u * (byte % 4u))) & 0xffu;
  out_f32[e] = select(nan(), f32(value) * params.scale, r >= 0);
}

@group(0) @binding(1) var<storage, read> src_i32: array<i32>;
@group(0) @binding(2) var<storage, read_write> out_i32: array<i32>;

// Labels: an index out of range gives −1, which the losses report as NaN.
@compute @workgroup_size(256)
fn gather_i32(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let e = flat_invocation(wid, nwg, lid, 256u);
  if (e >= params.count * params.cols) { return; }
  let i = e / params.cols;
  let c = e % params.cols;
  let r = source_row(i);
  out_i32[e] = select(-1, src_i32[u32(max(r, 0)) * params.cols + c], r >= 0);
}
