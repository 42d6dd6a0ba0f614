// Matrix product C = op(A) · op(B) [+ bias] [then ReLU] for GPUs, reading and writing whole vec4s:
// used when every row it loads is a whole number of vec4s (K, or M for a transposed A, a multiple
// of 4; N a multiple of 4). Same contract as matmul.wgsl's `main`; what differs is how the tiles
// are fed:
// - one 16-byte global load per four values (matmul.wgsl loads scalars), so a k-tile of A and B
//   is a few loads per invocation, issued for the next tile before the current one is multiplied
//   (register prefetch: their latency hides behind 16 k-steps of arithmetic);
// - STAGES = 2: two workgroup buffers, the next tile stored into one while the other is read, so a
//   k-tile takes one barrier instead of two;
// - the k-loop is unrolled by matmul-source.ts with constant offsets into the tiles (the lines
//   marked //@).
// Outside the matrices loads give zeros, so the last, partial k-tile is multiplied whole: its
// padding adds 0·0.

// Params, TRANS_A/TRANS_B, HAS_BIAS/RELU and flag(): matmul-params.wgsl. The upper-case k-range
// tokens and the k-range marker line: split-K's layer, written by withKRange in matmul-source.ts
// (see matmul.wgsl).

@group(0) @binding(0) var<storage, read> A: array<vec4f>;
@group(0) @binding(1) var<storage, read> B: array<vec4f>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<vec4f>;
@group(0) @binding(4) var<uniform> params: Params;

//@ constants

// Tiles as [stage][k][row / 4] of vec4, as in matmul.wgsl (PAD vec4s after each k-row).
var<workgroup> As: array<array<array<vec4f, TILE_M / 4u + PAD>, TILE_K>, STAGES>;
var<workgroup> Bs: array<array<array<vec4f, TILE_N / 4u + PAD>, TILE_K>, STAGES>;

// The e-th vec4 of the A tile at (row0, k0). A stored K×M (TRANS_A): four rows of one k, e walking
// the rows first; stored M×K: four k of one row, e walking k first. Zeros outside the matrix (M, K
// and the vec4 offsets are multiples of 4, so a vec4 is wholly inside or wholly outside).
fn load_a(e: u32, row0: u32, k0: u32, check: bool) -> vec4f {
  var r: u32;
  var k: u32;
  if (TRANS_A) { r = (e % (TILE_M / 4u)) * 4u; k = e / (TILE_M / 4u); } else { k = (e % (TILE_K / 4u)) * 4u; r = e / (TILE_K / 4u); }
  let row = row0 + r;
  let kk = k0 + k;
  if (check && (row >= params.M || kk >= K_LIMIT)) { return vec4f(); }
  if (TRANS_A) { return A[kk * (params.M / 4u) + row / 4u]; }
  return A[row * (params.K / 4u) + kk / 4u];
}

fn stash_a(s: u32, e: u32, v: vec4f) {
  if (TRANS_A) {
    As[s][e / (TILE_M / 4u)][e % (TILE_M / 4u)] = v;
    return;
  }
  let k = (e % (TILE_K / 4u)) * 4u;
  let r = e / (TILE_K / 4u);
  As[s][k][r / 4u][r % 4u] = v.x;
  As[s][k + 1u][r / 4u][r % 4u] = v.y;
  As[s][k + 2u][r / 4u][r % 4u] = v.z;
  As[s][k + 3u][r / 4u][r % 4u] = v.w;
}

// The e-th vec4 of the B tile at (k0, col0). B stored K×N: four columns of one k; stored N×K
// (TRANS_B): four k of one column.
fn load_b(e: u32, k0: u32, col0: u32, check: bool) -> vec4f {
  var c: u32;
  var k: u32;
  if (TRANS_B) { k = (e % (TILE_K / 4u)) * 4u; c = e / (TILE_K / 4u); } else { c = (e % (TILE_N / 4u)) * 4u; k = e / (TILE_N / 4u); }
  let col = col0 + c;
  let kk = k0 + k;
  if (check && (col >= params.N || kk >= K_LIMIT)) { return vec4f(); }
  if (TRANS_B) { return B[col * (params.K / 4u) + kk / 4u]; }
  return B[kk * (params.N / 4u) + col / 4u];
}

fn stash_b(s: u32, e: u32, v: vec4f) {
  if (!TRANS_B) {
    Bs[s][e / (TILE_N / 4u)][e % (TILE_N / 4u)] = v;
    return;
  }
  let k = (e % (TILE_K / 4u)) * 4u;
  let c = e / (TILE_K / 4u);
  Bs[s][k][c / 4u][c % 4u] = v.x;
  Bs[s][k + 1u][c / 4u][c % 4u] = v.y;
  Bs[s][k + 2u][c / 4u][c % 4u] = v.z;
  Bs[s][k + 3u][c / 4u][c % 4u] = v.w;
}

// `block` tiles: A stored M×K (or B stored N×K) is staged in 4×4 blocks, the e-th block being four
// rows (columns) of four k, e walking k first. The four row vec4s, transposed in registers, are
// the block's four k vec4s of the tile: four 16-byte workgroup stores instead of sixteen 4-byte ones.
fn load_a_block(e: u32, row0: u32, k0: u32, check: bool) -> mat4x4f {
  let row = row0 + (e / (TILE_K / 4u)) * 4u;
  let kk = k0 + (e % (TILE_K / 4u)) * 4u;
  let K4 = params.K / 4u;
  let base = row * K4 + kk / 4u;
  if (!check) { return mat4x4f(A[base], A[base + K4], A[base + 2u * K4], A[base + 3u * K4]); }
  var m = mat4x4f();
  if (kk >= K_LIMIT) { return m; }
  for (var i = 0u; i < 4u; i++) {
    if (row + i < params.M) { m[i] = A[base + i * K4]; }
  }
  return m;
}

fn stash_a_block(s: u32, e: u32, m: mat4x4f) {
  let k = (e % (TILE_K / 4u)) * 4u;
  let r4 = e / (TILE_K / 4u);
  let t = transpose(m);
  As[s][k][r4] = t[0];
  As[s][k + 1u][r4] = t[1];
  As[s][k + 2u][r4] = t[2];
  As[s][k + 3u][r4] = t[3];
}

fn load_b_block(e: u32, k0: u32, col0: u32, check: bool) -> mat4x4f {
  let col = col0 + (e / (TILE_K / 4u)) * 4u;
  let kk = k0 + (e % (TILE_K / 4u)) * 4u;
  let K4 = params.K / 4u;
  let base = col * K4 + kk / 4u;
  if (!check) { return mat4x4f(B[base], B[base + K4], B[base + 2u * K4], B[base + 3u * K4]); }
  var m = mat4x4f();
  if (kk >= K_LIMIT) { return m; }
  for (var i = 0u; i < 4u; i++) {
    if (col + i < params.N) { m[i] = B[base + i * K4]; }
  }
  return m;
}

fn stash_b_block(s: u32, e: u32, m: mat4x4f) {
  let k = (e % (TILE_K / 4u)) * 4u;
  let c4 = e / (TILE_K / 4u);
  let t = transpose(m);
  Bs[s][k][c4] = t[0];
  Bs[s][k + 1u][c4] = t[1];
  Bs[s][k + 2u][c4] = t[2];
  Bs[s][k + 3u][c4] = t[3];
}

// Four columns of C at (row, 4·col4): bias and ReLU applied, nothing written outside the matrix.
fn store_c4(row: u32, col4: u32, value: vec4f) {
  if (row >= params.M || col4 * 4u >= params.N) { return; }
  var v = value;
  if (flag(HAS_BIAS)) {
    let c = col4 * 4u;
    v += vec4f(bias[c], bias[c + 1u], bias[c + 2u], bias[c + 3u]);
  }
  if (flag(RELU)) { v = relu4(v); }
  C[C_BASE4 + row * (params.N / 4u) + col4] = v;
}

@compute @workgroup_size(WG_X * WG_Y)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  //@ thread
  //@ origin
  let M = params.M;
  let N = params.N;
  let K = params.K;
  //@ k-range
  // Tiles wholly inside the matrices skip the bounds checks.
  let inside_a = row0 + TILE_M <= M;
  let inside_b = col0 + TILE_N <= N;
  //@ accumulators
  var check_a = !(inside_a && K_BEGIN + TILE_K <= K_END);
  var check_b = !(inside_b && K_BEGIN + TILE_K <= K_END);
  //@ fetch-first
  //@ stash-first
  workgroupBarrier();
  var s = 0u;
  for (var k0 = K_BEGIN; k0 < K_END; k0 += TILE_K) {
    let next = k0 + TILE_K;
    let more = next < K_END;
    if (more) {
      check_a = !(inside_a && next + TILE_K <= K_END);
      check_b = !(inside_b && next + TILE_K <= K_END);
      //@ fetch-next
    }
    //@ multiply
    //@ stash-next
    s = (s + 1u) % STAGES;
  }
  //@ store
}
