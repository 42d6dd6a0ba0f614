// Matmul tile shapes and the policy that picks them: which tile and split-K for which product, on which device.

import type { Engine } from '../engine/engine';
import type { Tensor } from '../tensor';

/** Invocations per workgroup (x, y), rows and vec4-columns each invocation computes, and the k-step. */
export interface MatmulTile {
  wgX: number;
  wgY: number;
  rows: number;
  cols4: number;
  tileK: number;
  /** vec4s of padding after each k-row of the workgroup tiles (against bank conflicts); default 1. */
  pad?: number;
  /**
   * 'workgroup' (default): operands staged through workgroup memory, scalar loads, any shape;
   * 'vec4': staged with vec4 loads and stores, prefetched a k-tile ahead (matmul-vec4.wgsl), used
   * where the shapes allow it (see `vec4Applies`) and the scalar kernel otherwise;
   * 'direct': read straight from storage, no workgroup memory (CPU adapters).
   */
  staging?: 'workgroup' | 'direct' | 'vec4';
  /** 'vec4' only: workgroup buffers (2: the next k-tile is stored while this one is read; default 2). */
  stages?: 1 | 2;
  /** 'vec4' only: multiply-adds as fma() (default) or as a * b + c. */
  fma?: boolean;
  /**
   * 'vec4' only: invocations across one 32-wide warp's block of the tile (default WG_X: a warp
   * covers whole rows of invocations); 8 makes a warp an 8×4 block, which reads fewer distinct
   * workgroup-memory words per k.
   */
  warpX?: number;
  /**
   * 'vec4' only: stage a row-major A (and a transposed B) in 4×4 blocks transposed in registers —
   * four 16-byte workgroup stores per block instead of sixteen 4-byte ones (default false).
   */
  block?: boolean;
  /**
   * 'vec4' only: k-steps unrolled per pass of the multiply loop (default tileK: the whole k-tile is
   * unrolled, every workgroup-memory offset a constant); a divisor of tileK.
   */
  unroll?: number;
  /**
   * 'vec4' with 2 stages only: the next k-tile is fetched and stored in two halves, one during
   * each half of the multiply, so half as many of its values wait in registers (default false).
   */
  halves?: boolean;
  /**
   * 'vec4' with the whole k-tile unrolled only: each k-step's operands are read from workgroup
   * memory before the previous step's multiply-adds, so their latency hides behind them
   * (default false).
   */
  ahead?: boolean;
  /** 'vec4' only: the multiply-adds of a k-step column by column instead of row by row (default false). */
  byColumn?: boolean;
  /**
   * 'vec4' only: workgroups walk the output tiles in bands of this many tile-rows, column by column
   * within a band, so the workgroups running at once share fewer panels of A and B (default 0: row
   * by row across the whole output).
   */
  swizzle?: number;
  /**
   * 'vec4' with 2 stages only: the k-loop written out once per stage, so the stage each k-tile
   * reads and writes is a constant, not a value alternating at run time (default false).
   */
  pairStages?: boolean;
  /**
   * 'workgroup' only: groups of wgX×wgY invocations that share one output tile, each taking every
   * kGroups-th k-tile, their sums added in workgroup memory at the end (`grouped` in matmul.wgsl;
   * default 1: none). A workgroup has wgX·wgY·kGroups invocations.
   */
  kGroups?: number;
}

export const tileM = (t: MatmulTile) => t.wgY * t.rows;
export const tileN = (t: MatmulTile) => t.wgX * t.cols4 * 4;

/**
 * Tile shapes measured on SwiftShader (2 CPU cores): big per-invocation blocks read straight from
 * storage (no workgroup memory, no barriers: see `direct` in matmul.wgsl). A 784-512-256-10
 * training step at batch 256 took 202 ms with these against 309 ms with workgroup tiles (Node).
 */
const CPU_TILES = {
  wide: { wgX: 4, wgY: 16, rows: 8, cols4: 4, tileK: 32, staging: 'direct' },
  narrow: { wgX: 8, wgY: 8, rows: 8, cols4: 1, tileK: 32, staging: 'direct' },
} satisfies Record<string, MatmulTile>;

/**
 * Tile shapes for discrete GPUs, through the vec4 kernel where the shapes allow (the scalar one
 * otherwise). Swept on an H100 (bench/matmul-tiles.ts; bench/README.md): 128×128 blocks of 8×8 per
 * invocation in two workgroup stages of k 24 (exactly 48 KiB) reach 39.2 TFLOP/s at 4096 (one stage
 * of k 32: 36.9; the scalar kernel's best: 26.5); 64×64 blocks keep more multiprocessors busy below
 * ~128 workgroups of 128×128 (21.8 TFLOP/s at 1024 against 16.0).
 */
const GPU_TILES = {
  large: { wgX: 16, wgY: 16, rows: 8, cols4: 2, tileK: 24, staging: 'vec4', stages: 2, pad: 0, fma: false },
  tiny: { wgX: 8, wgY: 8, rows: 4, cols4: 1, tileK: 16, staging: 'vec4', stages: 2, fma: false },
  small: { wgX: 16, wgY: 16, rows: 4, cols4: 1, tileK: 16, staging: 'vec4', stages: 2, fma: false, block: true },
  narrow: { wgX: 8, wgY: 32, rows: 4, cols4: 1, tileK: 16 },
  narrowLongK: { wgX: 8, wgY: 8, rows: 4, cols4: 1, tileK: 16, kGroups: 4 },
} satisfies Record<string, MatmulTile>;

/** Picks a tile for an M×N×K product on this engine's device. */
export function chooseTile(engine: Engine, M: number, N: number, K = Infinity): MatmulTile {
  const fits = (t: MatmulTile) => workgroupBytes(t) <= engine.limits.maxComputeWorkgroupStorageSize;
  // Devices with less workgroup memory (32 KiB is the WebGPU default) get the same tile without
  // padding, then shorter k-steps.
  const pick = (t: MatmulTile) =>
    [t, { ...t, pad: 0 }, { ...t, tileK: 16 }, { ...t, tileK: 8 }].find(fits) ?? { ...t, tileK: 4, stages: 1 as const };
  if (engine.isCpuAdapter) return pick(N <= 32 ? CPU_TILES.narrow : CPU_TILES.wide);
  // N ≤ 32 with a long K (a batch's class scores, their gradient): 32×32 tiles, four groups of
  // invocations along K, one dispatch (30 KiB of workgroup memory; less: the narrow tile, split).
  if (N <= 32) return K >= GROUPED_MIN_K && fits(GPU_TILES.narrowLongK) ? GPU_TILES.narrowLongK : pick(GPU_TILES.narrow);
  // Below ~128 workgroups of 128×128 (an H100 has 132 multiprocessors), 64×64 tiles are faster;
  // below 64 of those, 32×32 tiles where K is short (a long K is split instead: chooseSplit).
  if (Math.ceil(M / 128) * Math.ceil(N / 128) >= 128) return pick(GPU_TILES.large);
  if (Math.ceil(M / 64) * Math.ceil(N / 64) < 64 && K < SPLIT_LONG_K) return pick(GPU_TILES.tiny);
  return pick(GPU_TILES.small);
}

/**
 * Split-K, measured on an H100 (bench/README.md): a product whose tiles leave most of a GPU idle
 * runs as layers over ranges of K, so more workgroups share the work and each one's chain of k-tiles
 * is shorter; a second kernel sums the layers. That pays where K is long (from SPLIT_LONG_K, or from
 * 64 for the narrow N ≤ 32 tile, whose 128-row tiles leave a batch of 256 two workgroups): the
 * b256 products x·W1 and h1·W2 went from 54 / 39 µs to 32 / 25, h2·W3 from 40 to 25. Where K is
 * short a second dispatch costs more than it saves, and chooseTile takes 32×32 tiles instead; N ≤ 32
 * from K = GROUPED_MIN_K takes the grouped tile (K split inside each workgroup, one dispatch).
 * Layers are added up to about SPLIT_TARGET workgroups, each layer keeping SPLIT_MIN_K of K or more.
 * CPU adapters never split (two cores are busy with any grid).
 */
const SPLIT_TARGET = 128;
const SPLIT_MIN_K = 32;
const SPLIT_MAX = 16;
const SPLIT_LONG_K = 512;
const GROUPED_MIN_K = 128;

/** Layers to split K into for an M×N×K product with this tile (1: no split). */
export function chooseSplit(engine: Engine, M: number, N: number, K: number, tile: MatmulTile): number {
  if (engine.isCpuAdapter || (K < SPLIT_LONG_K && N > 32) || kGroupsOf(tile) > 1) return 1;
  const workgroups = Math.ceil(M / tileM(tile)) * Math.ceil(N / tileN(tile));
  return Math.max(1, Math.min(SPLIT_MAX, Math.floor(K / SPLIT_MIN_K), Math.floor(SPLIT_TARGET / workgroups)));
}

/** Workgroup memory the tiles of a tile shape take. */
export function workgroupBytes(t: MatmulTile): number {
  if (t.staging === 'direct') return 0;
  const stages = t.staging === 'vec4' ? (t.stages ?? 2) : 1;
  const groups = kGroupsOf(t);
  const sums = groups > 1 ? (groups - 1) * tileM(t) * tileN(t) * 4 : 0;
  return (tileM(t) + tileN(t) + 8 * (t.pad ?? 1)) * t.tileK * 4 * stages * groups + sums;
}

/** Groups of invocations along K in one workgroup: kGroups for the 'workgroup' kernel (its `grouped` entry point), 1 for the others. */
export const kGroupsOf = (t: MatmulTile) => ((t.staging ?? 'workgroup') === 'workgroup' ? (t.kGroups ?? 1) : 1);

/** Invocations in one workgroup of a tile shape. */
export const tileInvocations = (t: MatmulTile) => t.wgX * t.wgY * kGroupsOf(t);

/** Everything about a tile shape that changes its WGSL (kernel and module cache keys). */
export const tileKey = (t: MatmulTile) =>
  `${t.wgX}x${t.wgY}:${t.rows}x${t.cols4}:${t.tileK}:${t.pad ?? 1}:${t.staging ?? 'workgroup'}:${t.kGroups ?? 1}` +
  (t.staging === 'vec4' ? `:${t.stages ?? 2}:${t.fma ?? true}:${t.warpX ?? t.wgX}:${t.block ?? false}:${t.unroll ?? t.tileK}:${t.halves ?? false}:${t.ahead ?? false}:${t.byColumn ?? false}:${t.swizzle ?? 0}:${t.pairStages ?? false}` : '');

/**
 * Whether the vec4 kernel can run op(A)·op(B): every row it loads holds whole vec4s (K for a
 * row-major A or a transposed B, M for a transposed A, N for B and C) and every operand starts
 * on a 16-byte boundary (pool buffers and slab views start on the storage offset alignment).
 */
export function vec4Applies(M: number, N: number, K: number, transA: boolean, transB: boolean, tensors: readonly Tensor[]): boolean {
  return N % 4 === 0 && (transA ? M : K) % 4 === 0 && (transB ? K % 4 === 0 : true) && tensors.every((t) => t.byteOffset % 16 === 0);
}
