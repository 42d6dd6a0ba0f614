// Tiled matrix product C = op(A) · op(B) [+ bias] [then ReLU], staged through workgroup memory.
//
// op(A) is M×K (A stored M×K, or K×M when TRANS_A), op(B) is K×N (B stored K×N, or N×K when
// TRANS_B): the three products an affine layer needs (x·W, dout·Wᵀ, xᵀ·dout) are one kernel.
// A workgroup of WG_X×WG_Y invocations computes a TILE_M×TILE_N block of C; each invocation
// ROWS rows × (COLS4·4) columns. The per-invocation block is unrolled by matmul.ts (the lines
// marked //@): SwiftShader (a CPU Vulkan) keeps only unrolled scalars in registers — a loop over a
// private array runs 6–8× slower there — and GPUs compile the unrolled form just as well.

struct Params {
  M: u32,
  N: u32,
  K: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override HAS_BIAS: bool = false;
override RELU: bool = false;

//@ constants

// Tiles as [k][row / 4] of vec4: one read gives an invocation four rows (or columns) at once.
var<workgroup> As: array<array<vec4f, TILE_M / 4u>, TILE_K>;
var<workgroup> Bs: array<array<vec4f, TILE_N / 4u>, TILE_K>;

fn load_a(row: u32, k: u32) -> f32 {
  if (row >= params.M || k >= params.K) { return 0.0; }
  if (TRANS_A) { return A[k * params.M + row]; }
  return A[row * params.K + k];
}

fn load_b(k: u32, col: u32) -> f32 {
  if (col >= params.N || k >= params.K) { return 0.0; }
  if (TRANS_B) { return B[col * params.K + k]; }
  return B[k * params.N + col];
}

fn store_c(row: u32, col: u32, value: f32) {
  if (row >= params.M || col >= params.N) { return; }
  var v = value;
  if (HAS_BIAS) { v += bias[col]; }
  if (RELU) { v = max(v, 0.0); }
  C[row * params.N + col] = v;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tid = lid.y * WG_X + lid.x;
  let row0 = wid.y * TILE_M;
  let col0 = wid.x * TILE_N;
  //@ accumulators
  for (var k0 = 0u; k0 < params.K; k0 += TILE_K) {
    // Stage the A and B tiles; consecutive invocations read consecutive addresses.
    for (var i = 0u; i < TILE_M * TILE_K / (WG_X * WG_Y); i++) {
      let e = tid + i * WG_X * WG_Y;
      var r: u32;
      var k: u32;
      if (TRANS_A) { r = e % TILE_M; k = e / TILE_M; } else { k = e % TILE_K; r = e / TILE_K; }
      As[k][r / 4u][r % 4u] = load_a(row0 + r, k0 + k);
    }
    for (var i = 0u; i < TILE_N * TILE_K / (WG_X * WG_Y); i++) {
      let e = tid + i * WG_X * WG_Y;
      var c: u32;
      var k: u32;
      if (TRANS_B) { k = e % TILE_K; c = e / TILE_K; } else { c = e % TILE_N; k = e / TILE_N; }
      Bs[k][c / 4u][c % 4u] = load_b(k0 + k, col0 + c);
    }
    workgroupBarrier();
    for (var k = 0u; k < TILE_K; k++) {
      //@ multiply
    }
    workgroupBarrier();
  }
  //@ store
}
