// Elementwise updates in place: y += alpha·x (gradient accumulation, L2 gradients); y[i] = x[0] (logging a scalar).

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

struct StoreParams {
  index: u32,
}

@group(0) @binding(0) var<storage, read> value: array<f32>;
@group(0) @binding(1) var<storage, read_write> log: array<f32>;
@group(0) @binding(2) var<uniform> sparams: StoreParams;

// log[index] = value[0]: a captured step records its loss into a history read back in bulk.
@compute @workgroup_size(1)
fn store_scalar() {
  log[sparams.index] = value[0];
}
