// Dropout's random mask on the host: the GPU kernel's Philox4x32-10 generator, bit for bit, for the tests' float64 checks.

import { dropoutThreshold } from '../kernels/dropout';

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32s, from 16-bit halves, as the shader does. */
function mulHi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loHi = aLo * bHi;
  const cross = ((aLo * bLo) >>> 16) + (loHi & 0xffff) + aHi * bLo;
  return (aHi * bHi + (loHi >>> 16) + Math.floor(cross / 65536)) >>> 0;
}

/**
 * Philox4x32-10 (Salmon et al. 2011) of a 4-word counter under a 2-word key: four u32s, written to
 * `out`. The kernel uses the counter (element index / 4, 0, 0, 0) and the key (seed, stream).
 */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>, out: Uint32Array = new Uint32Array(4)): Uint32Array {
  let c0 = counter[0]! >>> 0;
  let c1 = counter[1]! >>> 0;
  let c2 = counter[2]! >>> 0;
  let c3 = counter[3]! >>> 0;
  let k0 = key[0]! >>> 0;
  let k1 = key[1]! >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi0 = mulHi(PHILOX_M0, c0);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    const hi1 = mulHi(PHILOX_M1, c2);
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** The keep mask (1 = kept) the dropout kernel uses for `size` elements: bit-identical to the GPU's. */
export function dropoutKeepMask(seed: number, stream: number, size: number, p: number): Uint8Array {
  const threshold = dropoutThreshold(p);
  const mask = new Uint8Array(size);
  const bits = new Uint32Array(4);
  const counter = [0, 0, 0, 0];
  const key = [seed, stream];
  for (let block = 0; block * 4 < size; block++) {
    counter[0] = block;
    philox4x32(counter, key, bits);
    for (let lane = 0; lane < 4 && block * 4 + lane < size; lane++) {
      mask[block * 4 + lane] = bits[lane]! >>> 8 >= threshold ? 1 : 0;
    }
  }
  return mask;
}
