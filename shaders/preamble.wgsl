// Shared by every shadergrad kernel: the flat index of an invocation over a 2-D grid of workgroups, and ReLU.

// 1-D work folds into a 2-D grid when it needs more than 65535 workgroups (see grid1d in kernel.ts).
fn flat_workgroup(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.y * nwg.x + wid.x;
}

fn flat_invocation(wid: vec3u, nwg: vec3u, lid: u32, wg_size: u32) -> u32 {
  return flat_workgroup(wid, nwg) * wg_size + lid;
}

// ReLU that keeps NaN, as float64 does: max(NaN, 0) is 0 on GPUs, and a NaN turned into 0 would
// never reach the loss that reports it. (WGSL lets a compiler assume there is no NaN, so this is
// what a compare-and-select gives, not a promise: the affine and batchnorm cases check it.)
fn relu(v: f32) -> f32 {
  return select(v, 0.0, v < 0.0);
}

fn relu4(v: vec4f) -> vec4f {
  return select(v, vec4f(), v < vec4f());
}
