// What both matmul kernels (matmul.wgsl, matmul-vec4.wgsl) share: the uniform block, the transposes
// as override constants, the epilogue flags and the split of K. matmul-source.ts puts it in front of
// either template.

// K_SLICE: the k-range of one workgroup layer (z) when a long K is split across layers (split-K:
// layer z sums k in [z·K_SLICE, min(K, (z+1)·K_SLICE)) and writes its partial product at z·M·N;
// matmul-split.wgsl adds the layers up). Only the split variant of a kernel reads it
// (matmul-source.ts compiles the unsplit one without the layer code).
struct Params {
  M: u32,
  N: u32,
  K: u32,
  flags: u32,
  K_SLICE: u32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
const HAS_BIAS = 1u;
const RELU = 2u;

fn flag(bit: u32) -> bool {
  return (params.flags & bit) != 0u;
}

// Split variant only: this workgroup layer's k end for the loaders and the offset of its product
// in C, for the stores (set once at the top of an entry point).
var<private> layer_k_end: u32;
var<private> layer_c_base: u32;

// Sets them, and returns the layer's k-range [x, y): from uniforms and the workgroup id only, so
// the k-loops around barriers may depend on it.
fn set_layer(layer: u32) -> vec2u {
  let begin = layer * params.K_SLICE;
  let end = min(params.K, begin + params.K_SLICE);
  layer_k_end = end;
  layer_c_base = layer * params.M * params.N;
  return vec2u(begin, end);
}
