// Matrix product C = op(A) · op(B) [+ bias] [then ReLU], tiled through workgroup memory (`main`),
// or register-blocked straight from storage (`direct`, for CPU adapters: see below).
//
// op(A) is M×K (A stored M×K, or K×M when TRANS_A), op(B) is K×N (B stored K×N, or N×K when
// TRANS_B): the three products an affine layer needs (x·W, dout·Wᵀ, xᵀ·dout) are one kernel.
// The transposes are override constants (they shape the staging loads); bias and ReLU are uniform
// flags, read only in the epilogue, so they need no pipelines of their own (a variant compiles
// in 1–3 s on SwiftShader).
// A workgroup of WG_X×WG_Y invocations computes a TILE_M×TILE_N block of C; each invocation
// ROWS rows × (COLS4·4) columns. The per-invocation block is unrolled by matmul-source.ts (the
// lines marked //@): SwiftShader (a CPU Vulkan) keeps only unrolled scalars in registers — a loop over a
// private array runs 6–8× slower there — and GPUs compile the unrolled form just as well.

// Params, TRANS_A/TRANS_B, HAS_BIAS/RELU and flag(): matmul-params.wgsl. The upper-case k-range
// tokens (where this workgroup layer's k-range starts and ends, the end the loaders check, where
// its product goes in C) and the k-range marker line are written by withKRange in
// matmul-source.ts: a split-K layer's, or 0, K and nothing, which leaves exactly the code of a
// kernel without split-K.

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

//@ constants

// Tiles as [k][row / 4] of vec4: one read gives an invocation four rows (or columns) at once.
// Each k-row is padded by PAD vec4s: staging writes one k-row per invocation when A is not
// transposed (or B is), and unpadded rows would put every invocation of a warp in the same bank.
var<workgroup> As: array<array<vec4f, TILE_M / 4u + PAD>, TILE_K>;
var<workgroup> Bs: array<array<vec4f, TILE_N / 4u + PAD>, TILE_K>;

// Four rows of op(A) at one k, zero outside the matrix (`check` is false for interior tiles).
fn load_a4(row: u32, k: u32, check: bool) -> vec4f {
  var v = vec4f();
  let M = params.M;
  let K = params.K;
  if (TRANS_A) {
    let base = k * M + row;
    if (!check) { return vec4f(A[base], A[base + 1u], A[base + 2u], A[base + 3u]); }
    if (k >= K_LIMIT) { return v; }
    if (row < M) { v.x = A[base]; }
    if (row + 1u < M) { v.y = A[base + 1u]; }
    if (row + 2u < M) { v.z = A[base + 2u]; }
    if (row + 3u < M) { v.w = A[base + 3u]; }
    return v;
  }
  let base = row * K + k;
  if (!check) { return vec4f(A[base], A[base + K], A[base + 2u * K], A[base + 3u * K]); }
  if (k >= K_LIMIT) { return v; }
  if (row < M) { v.x = A[base]; }
  if (row + 1u < M) { v.y = A[base + K]; }
  if (row + 2u < M) { v.z = A[base + 2u * K]; }
  if (row + 3u < M) { v.w = A[base + 3u * K]; }
  return v;
}

// Four columns of op(B) at one k, zero outside the matrix.
fn load_b4(k: u32, col: u32, check: bool) -> vec4f {
  var v = vec4f();
  let N = params.N;
  let K = params.K;
  if (TRANS_B) {
    let base = col * K + k;
    if (!check) { return vec4f(B[base], B[base + K], B[base + 2u * K], B[base + 3u * K]); }
    if (k >= K_LIMIT) { return v; }
    if (col < N) { v.x = B[base]; }
    if (col + 1u < N) { v.y = B[base + K]; }
    if (col + 2u < N) { v.z = B[base + 2u * K]; }
    if (col + 3u < N) { v.w = B[base + 3u * K]; }
    return v;
  }
  let base = k * N + col;
  if (!check) { return vec4f(B[base], B[base + 1u], B[base + 2u], B[base + 3u]); }
  if (k >= K_LIMIT) { return v; }
  if (col < N) { v.x = B[base]; }
  if (col + 1u < N) { v.y = B[base + 1u]; }
  if (col + 2u < N) { v.z = B[base + 2u]; }
  if (col + 3u < N) { v.w = B[base + 3u]; }
  return v;
}

fn store_c(row: u32, col: u32, value: f32) {
  if (row >= params.M || col >= params.N) { return; }
  var v = value;
  if (flag(HAS_BIAS)) { v += bias[col]; }
  if (flag(RELU)) { v = relu(v); }
  C[C_BASE + row * params.N + col] = v;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tid = lid.y * WG_X + lid.x;
  let row0 = wid.y * TILE_M;
  let col0 = wid.x * TILE_N;
  //@ accumulators
  let M = params.M;
  let N = params.N;
  let K = params.K;
  //@ k-range
  for (var k0 = K_BEGIN; k0 < K_END; k0 += TILE_K) {
    // Stage the A and B tiles, four rows (columns) per item; consecutive invocations read
    // consecutive addresses. Tiles wholly inside the matrices skip the bounds checks.
    let k_inside = k0 + TILE_K <= K_END;
    let check_a = !(k_inside && row0 + TILE_M <= M);
    let check_b = !(k_inside && col0 + TILE_N <= N);
    for (var e = tid; e < TILE_M * TILE_K / 4u; e += WG_X * WG_Y) {
      var r4: u32;
      var k: u32;
      if (TRANS_A) { r4 = e % (TILE_M / 4u); k = e / (TILE_M / 4u); } else { k = e % TILE_K; r4 = e / TILE_K; }
      As[k][r4] = load_a4(row0 + r4 * 4u, k0 + k, check_a);
    }
    for (var e = tid; e < TILE_N * TILE_K / 4u; e += WG_X * WG_Y) {
      var c4: u32;
      var k: u32;
      if (TRANS_B) { k = e % TILE_K; c4 = e / TILE_K; } else { c4 = e % (TILE_N / 4u); k = e / (TILE_N / 4u); }
      Bs[k][c4] = load_b4(k0 + k, col0 + c4 * 4u, check_b);
    }
    workgroupBarrier();
    // The last k-tile may be partial (and K tiny: a 2-feature input): multiply only what is there.
    let k_count = min(TILE_K, K_END - k0);
    for (var k = 0u; k < k_count; k++) {
      //@ multiply
    }
    workgroupBarrier();
  }
  //@ store
}

// `grouped`: KG groups of WG_X×WG_Y invocations (lid.z) share one output tile, group g taking every
// KG-th k-tile from the g-th; their sums meet in workgroup memory at the end and group 0 stores. A
// product with few output tiles and a long K (N ≤ 32 at batch 256: eight 32×32 tiles) gets KG× the
// invocations and a KG× shorter chain of k-tiles in one dispatch — split-K without a second one.
var<workgroup> Ag: array<array<array<vec4f, TILE_M / 4u + PAD>, TILE_K>, KG>;
var<workgroup> Bg: array<array<array<vec4f, TILE_N / 4u + PAD>, TILE_K>, KG>;
// Groups 1…KG-1's sums, as [group][row of the tile][vec4-column]; group 0 keeps its own (one
// slot when KG = 1: the array may not be empty, and only `grouped` uses it).
var<workgroup> group_sums: array<array<array<vec4f, TILE_N / 4u>, TILE_M>, max(KG, 2u) - 1u>;

@compute @workgroup_size(WG_X, WG_Y, KG)
fn grouped(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = lid.z;
  let tid = lid.y * WG_X + lid.x;
  let row0 = wid.y * TILE_M;
  let col0 = wid.x * TILE_N;
  //@ accumulators
  let M = params.M;
  let N = params.N;
  let K = params.K;
  //@ k-range
  // Every group runs the same number of passes (the barriers need it); a group past the end
  // stages zeros and multiplies nothing.
  for (var kb = K_BEGIN; kb < K_END; kb += KG * TILE_K) {
    let k0 = kb + g * TILE_K;
    let k_inside = k0 + TILE_K <= K_END;
    let check_a = !(k_inside && row0 + TILE_M <= M);
    let check_b = !(k_inside && col0 + TILE_N <= N);
    for (var e = tid; e < TILE_M * TILE_K / 4u; e += WG_X * WG_Y) {
      var r4: u32;
      var k: u32;
      if (TRANS_A) { r4 = e % (TILE_M / 4u); k = e / (TILE_M / 4u); } else { k = e % TILE_K; r4 = e / TILE_K; }
      Ag[g][k][r4] = load_a4(row0 + r4 * 4u, k0 + k, check_a);
    }
    for (var e = tid; e < TILE_N * TILE_K / 4u; e += WG_X * WG_Y) {
      var c4: u32;
      var k: u32;
      if (TRANS_B) { k = e % TILE_K; c4 = e / TILE_K; } else { c4 = e % (TILE_N / 4u); k = e / (TILE_N / 4u); }
      Bg[g][k][c4] = load_b4(k0 + k, col0 + c4 * 4u, check_b);
    }
    workgroupBarrier();
    let k_count = select(0u, min(TILE_K, K_END - k0), k0 < K_END);
    for (var k = 0u; k < k_count; k++) {
      //@ grouped-multiply
    }
    workgroupBarrier();
  }
  if (g > 0u) {
    //@ grouped-stash
  }
  workgroupBarrier();
  if (g == 0u) {
    for (var h = 0u; h < KG - 1u; h++) {
      //@ grouped-sum
    }
    //@ store
  }
}

// `direct`: the same per-invocation block, its operands read straight from storage, no workgroup
// memory and no barrier. On SwiftShader (WebGPU on the CPU) a workgroup with a barrier runs each
// group of four invocations as a coroutine, and starting those costs as much as a small tile's
// arithmetic (a 784×512·K=256 product ran at 2.2 GFLOP/s against 2.9 for K=784); CPU caches do
// what workgroup memory does on a GPU. Rows and columns past the edge are clamped for reading and
// skipped by store_c, so the k-loop has no bounds checks.
@compute @workgroup_size(WG_X, WG_Y)
fn direct(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let row0 = wid.y * TILE_M + lid.y * ROWS;
  let col0 = wid.x * TILE_N + lid.x * 4u;
  if (row0 >= M || col0 >= N) { return; }
  //@ k-range
  //@ direct-setup
  //@ accumulators
  for (var k = K_BEGIN; k < K_END; k++) {
    //@ direct-multiply
  }
  //@ direct-store
}
