// The GPU matmul policy (tile shape and split-K per product shape), checked without a GPU.

import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { chooseSplit, chooseTile, tileM, tileN } from '../../src/kernels/matmul';

const gpu = { isCpuAdapter: false, limits: { maxComputeWorkgroupStorageSize: 48 * 1024 } } as unknown as Engine;
const cpu = { isCpuAdapter: true, limits: { maxComputeWorkgroupStorageSize: 32 * 1024 } } as unknown as Engine;

/** "tile MxN, split S" for an M×K×N product (the bench's case naming). */
function policy(engine: Engine, M: number, K: number, N: number): string {
  const tile = chooseTile(engine, M, N, K);
  const groups = (tile.kGroups ?? 1) > 1 ? ` in ${tile.kGroups} groups` : '';
  return `${tileM(tile)}x${tileN(tile)} k${tile.tileK}${groups}, split ${chooseSplit(engine, M, N, K, tile)}`;
}

describe('matmul policy on a GPU (48 KiB of workgroup memory)', () => {
  it('large squares take the 128×128 two-stage k24 tile and are not split', () => {
    expect(policy(gpu, 4096, 4096, 4096)).toBe('128x128 k24, split 1');
    expect(policy(gpu, 2048, 2048, 2048)).toBe('128x128 k24, split 1');
    expect(policy(gpu, 1024, 1024, 1024)).toBe('64x64 k16, split 1');
  });

  it('the 784-512-256-10 b256 step: long K is split, short K takes 32×32 tiles, N ≤ 32 is split inside the workgroup', () => {
    expect(policy(gpu, 256, 784, 512)).toBe('64x64 k16, split 4'); // x·W1
    expect(policy(gpu, 256, 512, 256)).toBe('64x64 k16, split 8'); // h1·W2
    expect(policy(gpu, 256, 256, 10)).toBe('32x32 k16 in 4 groups, split 1'); // h2·W3 (and h2ᵀ·dout3)
    expect(policy(gpu, 256, 10, 256)).toBe('32x32 k16, split 1'); // dout3·W3ᵀ: K = 10
    expect(policy(gpu, 256, 256, 512)).toBe('32x32 k16, split 1'); // dout2·W2ᵀ
    expect(policy(gpu, 512, 256, 256)).toBe('32x32 k16, split 1'); // h1ᵀ·dout2
    expect(policy(gpu, 784, 256, 512)).toBe('64x64 k16, split 1'); // xᵀ·dout1: 104 workgroups
  });

  it('a product with plenty of workgroups or a tiny K is never split', () => {
    expect(policy(gpu, 512, 512, 512)).toBe('64x64 k16, split 2');
    expect(policy(gpu, 10000, 2, 64)).toBe('64x64 k16, split 1');
    expect(policy(gpu, 64, 40, 16)).toBe('128x32 k16, split 1');
    expect(policy(gpu, 64, 100, 16)).toBe('128x32 k16, split 3'); // N ≤ 32, K too short for the groups
  });
});

describe('matmul policy on a GPU with 16 KiB of workgroup memory (the WebGPU default)', () => {
  const small = { isCpuAdapter: false, limits: { maxComputeWorkgroupStorageSize: 16 * 1024 } } as unknown as Engine;
  it('N ≤ 32 falls back from the grouped tile (30 KiB) to the narrow one, split across workgroups', () => {
    expect(policy(small, 256, 256, 10)).toBe('128x32 k16, split 8');
  });
  it('the large tile shortens its k-step until it fits', () => {
    expect(policy(small, 4096, 4096, 4096)).toBe('128x128 k8, split 1');
  });
});

describe('matmul policy on a CPU adapter', () => {
  it('never splits K', () => {
    expect(policy(cpu, 64, 784, 512).endsWith('split 1')).toBe(true);
    expect(policy(cpu, 256, 256, 10).endsWith('split 1')).toBe(true);
  });
});
