// Elementwise updates in place: y += alpha·x (gradient accumulation, L2 gradients).

struct Params {
  n: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn axpy(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_invocation(wid, nwg, lid, 256u);
  if (i < params.n) {
    y[i] += params.alpha * x[i];
  }
}
