// Split-K: adds up the partial products that the layers of a split matmul wrote (layer z at z·count),
// then applies the product's epilogue (bias, ReLU). One invocation per element of C; the layers are
// summed in order, so the result does not depend on scheduling.

struct Params {
  count: u32,
  N: u32,
  layers: u32,
  flags: u32,
}

const HAS_BIAS = 1u;
const RELU = 2u;

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_invocation(wid, nwg, lid, 256u);
  if (i >= params.count) { return; }
  var v = partial[i];
  for (var z = 1u; z < params.layers; z++) {
    v += partial[z * params.count + i];
  }
  if ((params.flags & HAS_BIAS) != 0u) { v += bias[i % params.N]; }
  if ((params.flags & RELU) != 0u) { v = relu(v); }
  C[i] = v;
}
