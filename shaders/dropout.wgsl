// Inverted dropout: a Philox4x32-10 keep mask made from (seed, stream, element index), applied and scaled.

struct Params {
  n: u32,
  // Philox key: the mask's seed (re-read on every replay of a captured step) and its stream.
  seed: u32,
  stream: u32,
  // Keep an element iff (bits >> 8) >= threshold, i.e. iff u = (bits >> 8)·2^-24 >= p.
  threshold: u32,
  // 1 / (1 - p).
  scale: f32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const PHILOX_M0 = 0xD2511F53u;
const PHILOX_M1 = 0xCD9E8D57u;
const PHILOX_W0 = 0x9E3779B9u;
const PHILOX_W1 = 0xBB67AE85u;

// High 32 bits of the 64-bit product a·b, from 16-bit halves (WGSL has no 64-bit integers).
fn mul_hi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xFFFFu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xFFFFu;
  let b_hi = b >> 16u;
  let lo_hi = a_lo * b_hi;
  // At most 2^32 - 1: cannot overflow.
  let cross = ((a_lo * b_lo) >> 16u) + (lo_hi & 0xFFFFu) + a_hi * b_lo;
  return a_hi * b_hi + (lo_hi >> 16u) + (cross >> 16u);
}

// Philox4x32-10 (Salmon et al. 2011) of the counter (block, 0, 0, 0) under the key (k0, k1).
// Matches Random123's known-answer vectors; mirrored in src/kernels/dropout.ts for the host.
fn philox4x32_10(block: u32, key0: u32, key1: u32) -> vec4u {
  var c0 = block;
  var c1 = 0u;
  var c2 = 0u;
  var c3 = 0u;
  var k0 = key0;
  var k1 = key1;
  for (var round = 0u; round < 10u; round++) {
    if (round > 0u) {
      k0 += PHILOX_W0;
      k1 += PHILOX_W1;
    }
    let lo0 = PHILOX_M0 * c0;
    let hi0 = mul_hi(PHILOX_M0, c0);
    let lo1 = PHILOX_M1 * c2;
    let hi1 = mul_hi(PHILOX_M1, c2);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  return vec4u(c0, c1, c2, c3);
}

fn keep_scale(bits: u32) -> f32 {
  return select(0.0, params.scale, (bits >> 8u) >= params.threshold);
}

// dst[i] = src[i] · keep[i] / (1 - p) for the 4 elements of Philox block `block` (forward: src = x;
// backward: src = dout, the same mask regenerated). The mask depends only on (seed, stream, i).
@compute @workgroup_size(256)
fn apply(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let block = flat_invocation(wid, nwg, lid, 256u);
  let i = block * 4u;
  if (i >= params.n) {
    return;
  }
  let bits = philox4x32_10(block, params.seed, params.stream);
  dst[i] = src[i] * keep_scale(bits.x);
  if (i + 1u < params.n) {
    dst[i + 1u] = src[i + 1u] * keep_scale(bits.y);
  }
  if (i + 2u < params.n) {
    dst[i + 2u] = src[i + 2u] * keep_scale(bits.z);
  }
  if (i + 3u < params.n) {
    dst[i + 3u] = src[i + 3u] * keep_scale(bits.w);
  }
}
