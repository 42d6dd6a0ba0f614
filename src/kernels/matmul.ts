// Matrix product kernels: tile shapes chosen per device and shape, the unrolled body generated.

import params from '../../shaders/matmul-params.wgsl?raw';
import template from '../../shaders/matmul.wgsl?raw';
import splitSource from '../../shaders/matmul-split.wgsl?raw';
import vec4Template from '../../shaders/matmul-vec4.wgsl?raw';
import type { Engine } from '../engine/engine';
import { Tensor, fmt } from '../tensor';
import { defineKernel, elementGrid, type Kernel } from './kernel';

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
  split?: boolean;
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

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor;
  relu?: boolean;
  /** Shape of the result (same size as M×N); default [M, N]. */
  outShape?: readonly number[];
  /** Force a tile shape (benchmarks and tests of every code path). */
  tile?: MatmulTile;
  /**
   * Layers K is split into (split-K: each layer's workgroups multiply one range of K, a second
   * kernel adds the layers up); 1 for none. Default: `chooseSplit`.
   */
  splitK?: number;
  label?: string;
}

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
  if (engine.isCpuAdapter || (K < SPLIT_LONG_K && N > 32) || (tile.kGroups ?? 1) > 1) return 1;
  const workgroups = Math.ceil(M / tileM(tile)) * Math.ceil(N / tileN(tile));
  return Math.max(1, Math.min(SPLIT_MAX, Math.floor(K / SPLIT_MIN_K), Math.floor(SPLIT_TARGET / workgroups)));
}

/** Workgroup memory the tiles of a tile shape take. */
export function workgroupBytes(t: MatmulTile): number {
  if (t.staging === 'direct') return 0;
  const stages = t.staging === 'vec4' ? (t.stages ?? 2) : 1;
  const groups = t.staging === 'vec4' ? 1 : (t.kGroups ?? 1);
  const sums = groups > 1 ? (groups - 1) * tileM(t) * tileN(t) * 4 : 0;
  return (tileM(t) + tileN(t) + 8 * (t.pad ?? 1)) * t.tileK * 4 * stages * groups + sums;
}

/** Invocations in one workgroup of a tile shape. */
export const tileInvocations = (t: MatmulTile) => t.wgX * t.wgY * (t.staging === 'vec4' || t.staging === 'direct' ? 1 : (t.kGroups ?? 1));

const tileKey = (t: MatmulTile) =>
  `${t.wgX}x${t.wgY}:${t.rows}x${t.cols4}:${t.tileK}:${t.pad ?? 1}:${t.staging ?? 'workgroup'}:${t.kGroups ?? 1}` +
  (t.staging === 'vec4' ? `:${t.stages ?? 2}:${t.fma ?? true}:${t.warpX ?? t.wgX}:${t.block ?? false}:${t.unroll ?? t.tileK}:${t.split ?? false}` : '');

/**
 * Whether the vec4 kernel can run op(A)·op(B): every row it loads holds whole vec4s (K for a
 * row-major A or a transposed B, M for a transposed A, N for B and C) and every operand starts
 * on a 16-byte boundary (pool buffers and slab views start on the storage offset alignment).
 */
export function vec4Applies(M: number, N: number, K: number, transA: boolean, transB: boolean, tensors: readonly Tensor[]): boolean {
  return N % 4 === 0 && (transA ? M : K) % 4 === 0 && (transB ? K % 4 === 0 : true) && tensors.every((t) => t.byteOffset % 16 === 0);
}

const modules = new Map<string, string>();

/** One line per (row, vec4-column) of an invocation's block: the unrolled accumulators, multiplies and stores. */
function perElement(t: MatmulTile, f: (i: number, j: number) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i < t.rows; i++) for (let j = 0; j < t.cols4; j++) out.push(f(i, j));
  return out;
}

/** The tile's shape as WGSL constants, plus a template's own. */
function tileConstants(t: MatmulTile, extra: Record<string, number>): string {
  const values = { WG_X: t.wgX, WG_Y: t.wgY, TILE_M: tileM(t), TILE_N: tileN(t), TILE_K: t.tileK, PAD: t.pad ?? 1, ...extra };
  return Object.entries(values)
    .map(([name, value]) => `const ${name} = ${value}u;`)
    .join('\n');
}

/**
 * The templates' k-range tokens: a split-K layer's range, or the whole K — which leaves exactly the
 * code of a kernel without split-K (the driver's schedule of the large tile moved by 11% when the
 * unsplit kernel computed a layer range of one).
 */
function withKRange(code: string, split: boolean): string {
  const r = split
    ? { range: 'set_layer(wid.z);\n  let ks = k_range(wid.z);', begin: 'ks.x', end: 'ks.y', limit: 'layer_k_end', base: 'layer_c_base + ', base4: 'layer_c_base / 4u + ' }
    : { range: '', begin: '0u', end: 'K', limit: 'params.K', base: '', base4: '' };
  const tokens: Array<[string, string]> = [
    ['//@ k-range', r.range],
    ['K_BEGIN', r.begin],
    ['K_END', r.end],
    ['K_LIMIT', r.limit],
    ['C_BASE4 + ', r.base4],
    ['C_BASE + ', r.base],
  ];
  return tokens.reduce((out, [token, value]) => out.split(token).join(value), code);
}

/** WGSL for one tile shape (split: the split-K variant): the template with its unrolled accumulate, multiply and store. */
export function matmulSource(t: MatmulTile, ta = false, tb = false, split = false): string {
  // Blocked vec4 staging is shaped by the transposes: one module each.
  const key = `${t.staging === 'vec4' && t.block ? `${tileKey(t)}:${ta}${tb}` : tileKey(t)}:${split}`;
  let code = modules.get(key);
  if (code) return code;
  if (t.rows % 4 !== 0) throw new Error(`shadergrad: matmul tile rows must be a multiple of 4, got ${t.rows}`);
  const groups = t.kGroups ?? 1;
  if (!(Number.isInteger(groups) && groups >= 1)) throw new Error(`shadergrad: matmul tile kGroups must be a whole number ≥ 1, got ${groups}`);
  if (groups > 1 && (t.staging ?? 'workgroup') !== 'workgroup') {
    throw new Error(`shadergrad: matmul tile kGroups ${groups} needs the 'workgroup' staging, got '${t.staging}'`);
  }
  if (t.staging === 'vec4') {
    code = withKRange(`${params}\n${vec4Source(t, ta, tb)}`, split);
    modules.set(key, code);
    return code;
  }
  const lines = (f: (i: number, j: number) => string) => perElement(t, f).join('\n  ');
  const constants = tileConstants(t, { ROWS: t.rows, KG: groups });
  const accumulators = lines((i, j) => `var acc${i}_${j} = vec4f();`);
  const multiply = [
    ...Array.from({ length: t.cols4 }, (_, j) => `let b${j} = Bs[k][lid.x + ${j * t.wgX}u];`),
    ...Array.from({ length: t.rows / 4 }, (_, i) => `let a${i} = As[k][lid.y * ${t.rows / 4}u + ${i}u];`),
    lines((i, j) => `acc${i}_${j} += a${i >> 2}.${'xyzw'[i % 4]} * b${j};`),
  ].join('\n      ');
  const store = lines((i, j) => {
    const row = `row0 + lid.y * ${t.rows}u + ${i}u`;
    const col = `col0 + (lid.x + ${j * t.wgX}u) * 4u`;
    return `{ let r = ${row}; let c = ${col}; store_c(r, c, acc${i}_${j}.x); store_c(r, c + 1u, acc${i}_${j}.y); store_c(r, c + 2u, acc${i}_${j}.z); store_c(r, c + 3u, acc${i}_${j}.w); }`;
  });
  // `grouped`: the same multiply on group g's tiles; groups 1… hand their sums to group 0.
  const groupedMultiply = multiply.replaceAll('As[', 'Ag[g][').replaceAll('Bs[', 'Bg[g][');
  const sumAt = (i: number, j: number) => `[lid.y * ${t.rows}u + ${i}u][lid.x + ${j * t.wgX}u]`;
  const groupedStash = lines((i, j) => `group_sums[g - 1u]${sumAt(i, j)} = acc${i}_${j};`);
  const groupedSum = lines((i, j) => `acc${i}_${j} += group_sums[h]${sumAt(i, j)};`);
  // `direct`: invocation columns interleave by vec4 (col0 + 4·WG_X·j), so neighbouring invocations
  // read neighbouring addresses; per-row and per-column offsets are clamped once, outside the k-loop.
  const colOf = (j: number) => `col0 + ${4 * t.wgX * j}u`;
  const directSetup = [
    ...Array.from({ length: t.rows }, (_, i) => `let ra${i} = select(min(row0 + ${i}u, M - 1u) * K, min(row0 + ${i}u, M - 1u), TRANS_A);`),
    ...Array.from({ length: t.cols4 * 4 }, (_, c) => {
      const col = `min(${colOf(c >> 2)} + ${c & 3}u, N - 1u)`;
      return `let cb${c} = select(${col}, ${col} * K, TRANS_B);`;
    }),
  ].join('\n  ');
  const directMultiply = [
    'let ka = select(k, k * M, TRANS_A);',
    'let kb = select(k * N, k, TRANS_B);',
    ...Array.from({ length: t.rows }, (_, i) => `let a${i} = A[ra${i} + ka];`),
    ...Array.from({ length: t.cols4 }, (_, j) => `let b${j} = vec4f(B[cb${4 * j} + kb], B[cb${4 * j + 1} + kb], B[cb${4 * j + 2} + kb], B[cb${4 * j + 3} + kb]);`),
    lines((i, j) => `acc${i}_${j} += a${i} * b${j};`),
  ].join('\n    ');
  const directStore = lines((i, j) => {
    const c = colOf(j);
    return `{ let r = row0 + ${i}u; let c = ${c}; store_c(r, c, acc${i}_${j}.x); store_c(r, c + 1u, acc${i}_${j}.y); store_c(r, c + 2u, acc${i}_${j}.z); store_c(r, c + 3u, acc${i}_${j}.w); }`;
  });
  const parts: Array<[string, string]> = [
    ['//@ constants', constants],
    ['//@ accumulators', accumulators],
    ['//@ multiply', multiply],
    ['//@ store', store],
    ['//@ grouped-multiply', groupedMultiply],
    ['//@ grouped-stash', groupedStash],
    ['//@ grouped-sum', groupedSum],
    ['//@ direct-setup', directSetup],
    ['//@ direct-multiply', directMultiply],
    ['//@ direct-store', directStore],
  ];
  code = parts.reduce((out, [marker, text]) => out.split(marker).join(text), `${params}\n${template}`);
  code = withKRange(code, split);
  modules.set(key, code);
  return code;
}

/** WGSL of the vec4 kernel for one tile shape: prefetch, stash, multiply and store unrolled. */
function vec4Source(t: MatmulTile, ta: boolean, tb: boolean): string {
  const wg = t.wgX * t.wgY;
  const stages = t.stages ?? 2;
  const warpX = t.warpX ?? t.wgX;
  // Items of each tile (vec4s, or 4×4 blocks when blocked), and loads per invocation (the last one
  // guarded where they do not divide evenly).
  const blockA = !!t.block && !ta;
  const blockB = !!t.block && tb;
  const aItems = (tileM(t) * t.tileK) / (blockA ? 16 : 4);
  const bItems = (tileN(t) * t.tileK) / (blockB ? 16 : 4);
  const aLoads = Math.ceil(aItems / wg);
  const bLoads = Math.ceil(bItems / wg);
  const problems = [
    t.tileK % 4 !== 0 && `tileK ${t.tileK} is not a multiple of 4`,
    t.split && stages !== 2 && `split needs 2 stages`,
    t.split && t.unroll !== undefined && t.unroll !== t.tileK && `split needs the whole k-tile unrolled`,
    t.unroll !== undefined && !(Number.isInteger(t.unroll) && t.unroll >= 1 && t.tileK % t.unroll === 0) && `unroll ${t.unroll} does not divide tileK ${t.tileK}`,
    (32 % warpX !== 0 || t.wgX % warpX !== 0 || t.wgY % (32 / warpX) !== 0) && `warpX ${warpX} does not tile a ${t.wgX}×${t.wgY} workgroup in 32s`,
  ].filter(Boolean);
  if (problems.length) throw new Error(`shadergrad: matmul vec4 tile: ${problems.join('; ')}`);
  const rows4 = t.rows / 4;
  const lines = (f: (i: number, j: number) => string) => perElement(t, f);
  const constants = tileConstants(t, { STAGES: stages });
  // The invocation's place in the WG_X×WG_Y grid; with warpX < WG_X each warp of 32 is a warpX×(32/warpX) block.
  const warpY = 32 / warpX;
  const thread =
    warpX === t.wgX
      ? 'let tx = tid % WG_X;\n  let ty = tid / WG_X;'
      : [
          `let warp = tid / 32u;`,
          `let lane = tid % 32u;`,
          `let tx = lane % ${warpX}u + (warp % ${t.wgX / warpX}u) * ${warpX}u;`,
          `let ty = lane / ${warpX}u + (warp / ${t.wgX / warpX}u) * ${warpY}u;`,
        ].join('\n  ');
  const accumulators = lines((i, j) => `var acc${i}_${j} = vec4f();`).join('\n  ');
  const guarded = (total: number, l: number, statement: string) =>
    (l + 1) * wg <= total ? statement : `if (tid + ${l * wg}u < ${total}u) { ${statement} }`;
  // The tile's loads, A's then B's: each fetched into a register (pa…, pb…) and stashed from it.
  const loads = [
    ...Array.from({ length: aLoads }, (_, l) => ({ reg: `pa${l}`, type: blockA ? 'mat4x4f' : 'vec4f', total: aItems, l, load: `load_a${blockA ? '_block' : ''}(tid + ${l * wg}u, row0, K0, check_a)`, stash: `stash_a${blockA ? '_block' : ''}(STAGE, tid + ${l * wg}u, pa${l})` })),
    ...Array.from({ length: bLoads }, (_, l) => ({ reg: `pb${l}`, type: blockB ? 'mat4x4f' : 'vec4f', total: bItems, l, load: `load_b${blockB ? '_block' : ''}(tid + ${l * wg}u, K0, col0, check_b)`, stash: `stash_b${blockB ? '_block' : ''}(STAGE, tid + ${l * wg}u, pb${l})` })),
  ];
  type Load = (typeof loads)[number];
  const fetch = (group: Load[], k0: string, decl = false) =>
    group.map((x) => (decl ? `var ${x.reg} = ${x.type}(); ` : '') + guarded(x.total, x.l, `${x.reg} = ${x.load.replace('K0', k0)};`));
  const stash = (group: Load[], stage: string) => group.map((x) => guarded(x.total, x.l, `${x.stash.replace('STAGE', stage)};`));
  // split: the first half of the loads during the first half of the multiply, the rest during the second.
  const half = Math.ceil(loads.length / 2);
  const [early, late] = t.split ? [loads.slice(0, half), loads.slice(half)] : [loads, []];
  const madd = (acc: string, a: string, b: string) => (t.fma ?? true ? `${acc} = fma(vec4f(${a}), ${b}, ${acc});` : `${acc} += ${a} * ${b};`);
  // The whole k-tile unrolled (constant offsets), or a loop over passes of `unroll` k-steps.
  const unroll = t.unroll ?? t.tileK;
  const kAt = (k: number) => (unroll === t.tileK ? `${k}u` : `kp + ${k}u`);
  const steps: string[] = [];
  for (let k = 0; k < unroll; k++) {
    steps.push(
      `{`,
      ...Array.from({ length: t.cols4 }, (_, j) => `  let b${j} = Bs[s][${kAt(k)}][tx + ${j * t.wgX}u];`),
      ...Array.from({ length: rows4 }, (_, i) => `  let a${i} = As[s][${kAt(k)}][ty * ${rows4}u + ${i}u];`),
      ...lines((i, j) => `  ${madd(`acc${i}_${j}`, `a${i >> 2}.${'xyzw'[i % 4]}`, `b${j}`)}`),
      `}`,
    );
  }
  const indent = (block: string[]) => block.map((l) => `  ${l}`);
  let multiply = unroll === t.tileK ? steps : [`for (var kp = 0u; kp < TILE_K; kp += ${unroll}u) {`, ...indent(steps), '}'];
  if (t.split) {
    // Halfway through the multiply (the other stage is free: everyone passed the last barrier), the
    // early half goes to workgroup memory and the late half is fetched.
    const at = (steps.length / t.tileK) * (t.tileK / 2);
    multiply = [...multiply.slice(0, at), 'if (more) {', ...indent(stash(early, '1u - s')), ...indent(fetch(late, 'next')), '}', ...multiply.slice(at)];
  }
  // One stage: every invocation must be done reading before the next tile overwrites it.
  const stashNext =
    stages === 2
      ? ['if (more) {', ...indent(stash(t.split ? late : loads, '1u - s')), '}', 'workgroupBarrier();']
      : ['workgroupBarrier();', 'if (more) {', ...indent(stash(loads, '0u')), '}', 'workgroupBarrier();'];
  const store = lines((i, j) => `store_c4(row0 + ty * ${t.rows}u + ${i}u, col0 / 4u + tx + ${j * t.wgX}u, acc${i}_${j});`);
  return vec4Template
    .replace('//@ constants', constants)
    .replace('//@ thread', thread)
    .replace('//@ accumulators', accumulators)
    .replace('//@ fetch-first', fetch(loads, 'K_BEGIN', true).join('\n  '))
    .replace('//@ stash-first', stash(loads, '0u').join('\n  '))
    .replace('//@ fetch-next', fetch(early, 'next').join('\n      '))
    .replace('//@ multiply', multiply.join('\n    '))
    .replace('//@ stash-next', stashNext.join('\n    '))
    .replace('//@ store', store.join('\n  '));
}

const kernels = new Map<string, Kernel>();

/** The matmul kernel of one tile shape, transposition and split (bias and ReLU are uniform flags). */
export function matmulKernel(t: MatmulTile, ta = false, tb = false, split = false): Kernel {
  const key = `${tileKey(t)}:${ta}${tb}:${split}`;
  let kernel = kernels.get(key);
  if (!kernel) {
    const direct = t.staging === 'direct';
    const grouped = !direct && t.staging !== 'vec4' && (t.kGroups ?? 1) > 1;
    kernel = defineKernel({
      name: `matmul_${direct || t.staging === 'vec4' ? `${t.staging}_` : grouped ? `grouped${t.kGroups}_` : ''}${tileM(t)}x${tileN(t)}${split ? '_split' : ''}`,
      source: matmulSource(t, ta, tb, split),
      entryPoint: direct ? 'direct' : grouped ? 'grouped' : 'main',
      bindings: ['read', 'read', 'read', 'write'],
      uniforms: ['u32', 'u32', 'u32', 'u32', 'u32'],
      workgroupSize: tileInvocations(t),
      constants: { TRANS_A: +ta, TRANS_B: +tb },
    });
    kernels.set(key, kernel);
  }
  return kernel;
}

const FLAGS = { bias: 1, relu: 2 } as const;

const splitSumKernel = defineKernel({ name: 'matmul_split_sum', source: splitSource, bindings: ['read', 'read', 'write'], uniforms: ['u32', 'u32', 'u32', 'u32'] });

/** A tensor as a matrix: its first dimension are the rows, the rest flatten into columns. */
function asMatrix(t: Tensor): [number, number] {
  return [t.shape[0]!, t.shape.slice(1).reduce((a, b) => a * b, 1)];
}

/**
 * C = op(A)·op(B) [+ bias] [→ ReLU]; op transposes when asked. A tensor of rank above 2 is seen
 * as a matrix of its first dimension by the product of the rest (the affine layer's view).
 * Returns a new M×N tensor (or `outShape`).
 */
export function matmul(engine: Engine, a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const { transA = false, transB = false, bias, relu = false } = options;
  const name = options.label ?? 'matmul';
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(`shadergrad: ${name}: expects matrices, got A ${fmt(a.shape)} and B ${fmt(b.shape)}`);
  }
  if (a.dtype !== 'f32' || b.dtype !== 'f32') {
    throw new Error(`shadergrad: ${name}: expects f32 operands, got ${a.dtype} and ${b.dtype}`);
  }
  const [ar, ac] = asMatrix(a);
  const [br, bc] = asMatrix(b);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (K !== Kb) {
    throw new Error(
      `shadergrad: ${name}: inner dimensions differ: op(A) is ${M}×${K}, op(B) is ${Kb}×${N} ` +
        `(A ${fmt(a.shape)}${transA ? 'ᵀ' : ''}, B ${fmt(b.shape)}${transB ? 'ᵀ' : ''})`,
    );
  }
  if (bias && (bias.size !== N || bias.dtype !== 'f32')) {
    throw new Error(`shadergrad: ${name}: bias must be f32 with ${N} elements, got ${bias.dtype} ${fmt(bias.shape)}`);
  }
  if (options.splitK !== undefined && !(Number.isInteger(options.splitK) && options.splitK >= 1)) {
    throw new Error(`shadergrad: ${name}: splitK must be a whole number of layers ≥ 1, got ${options.splitK}`);
  }
  let tile = options.tile ?? chooseTile(engine, M, N, K);
  if (tile.staging === 'vec4' && !vec4Applies(M, N, K, transA, transB, [a, b])) tile = { ...tile, staging: 'workgroup' };
  // Each layer's k-range is whole k-tiles (a vec4 tile's loads start on a multiple of 4); layers
  // that would be left empty are dropped.
  const wanted = options.splitK ?? chooseSplit(engine, M, N, K, tile);
  const kSlice = wanted > 1 ? Math.ceil(Math.ceil(K / wanted) / tile.tileK) * tile.tileK : Math.max(K, 1);
  const layers = Math.max(1, Math.ceil(K / kSlice));
  const kernel = matmulKernel(tile, transA, transB, layers > 1);
  const outShape = options.outShape ?? [M, N];
  if (outShape.reduce((p, d) => p * d, 1) !== M * N) {
    throw new Error(`shadergrad: ${name}: result shape ${fmt(outShape)} does not hold ${M}×${N}`);
  }
  const out = engine.empty(outShape, 'f32', name);
  if (M === 0 || N === 0) return out;
  const [gx, gy] = [Math.ceil(N / tileN(tile)), Math.ceil(M / tileM(tile))];
  const flags = (bias ? FLAGS.bias : 0) | (relu ? FLAGS.relu : 0);
  if (layers === 1) {
    engine.dispatch(kernel, [a, b, bias ?? engine.placeholder, out], [gx, gy, 1], [M, N, K, flags, kSlice]);
    return out;
  }
  const partial = engine.empty([layers, M, N], 'f32', `${name}.split`);
  engine.dispatch(kernel, [a, b, engine.placeholder, partial], [gx, gy, layers], [M, N, K, 0, kSlice]);
  engine.dispatch(splitSumKernel, [partial, bias ?? engine.placeholder, out], elementGrid(splitSumKernel, M * N), [M * N, N, layers, flags]);
  partial.dispose();
  return out;
}
