// Accuracy: argmax of each score row compared with its label, counted on the GPU.

struct Params {
  rows: u32,     // rows to count (a last, partial batch counts fewer than the batch holds)
  classes: u32,
}

@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> correct: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

// correct[0] += number of rows whose first maximal score is at its label (numpy's argmax).
@compute @workgroup_size(256)
fn count_correct(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = flat_invocation(wid, nwg, lid, 256u);
  if (row >= params.rows) { return; }
  let base = row * params.classes;
  var best = 0u;
  var best_score = scores[base];
  for (var c = 1u; c < params.classes; c++) {
    let s = scores[base + c];
    if (s > best_score) {
      best_score = s;
      best = c;
    }
  }
  if (i32(best) == labels[row]) {
    atomicAdd(&correct[0], 1u);
  }
}
