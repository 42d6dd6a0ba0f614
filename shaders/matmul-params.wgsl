// What both matmul kernels (matmul.wgsl, matmul-vec4.wgsl) share: the uniform block, the transposes
// as override constants, and the epilogue flags. matmul.ts puts it in front of either template.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  flags: u32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
const HAS_BIAS = 1u;
const RELU = 2u;

fn flag(bit: u32) -> bool {
  return (params.flags & bit) != 0u;
}
