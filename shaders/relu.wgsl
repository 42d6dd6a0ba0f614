// ReLU: forward max(x, 0) (NaN kept: relu in the preamble); backward passes the gradient where the input (or output) was positive.

struct Params {
  n: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_invocation(wid, nwg, lid, 256u);
  if (i < params.n) {
    out[i] = relu(x[i]);
  }
}

// `saved` is the forward input or output: both are positive exactly where the gradient passes.
@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> saved: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> bparams: Params;

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_invocation(wid, nwg, lid, 256u);
  if (i < bparams.n) {
    dx[i] = select(0.0, dout[i], saved[i] > 0.0);
  }
}
