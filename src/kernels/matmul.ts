// Matrix product kernels: tile shapes chosen per device and shape, the unrolled body generated.

import template from '../../shaders/matmul.wgsl?raw';
import type { Engine } from '../engine/engine';
import { Tensor, fmt } from '../tensor';
import { defineKernel, type Kernel } from './kernel';

/** Invocations per workgroup (x, y), rows and vec4-columns each invocation computes, and the k-step. */
export interface MatmulTile {
  wgX: number;
  wgY: number;
  rows: number;
  cols4: number;
  tileK: number;
  /** vec4s of padding after each k-row of the workgroup tiles (against bank conflicts); default 1. */
  pad?: number;
  /** 'workgroup' (default): operands staged through workgroup memory; 'direct': read straight from storage. */
  staging?: 'workgroup' | 'direct';
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

/** Tile shapes for discrete GPUs: 128×128 blocks of 8×8 per invocation, and 64×64 for small outputs. */
const GPU_TILES = {
  large: { wgX: 16, wgY: 16, rows: 8, cols4: 2, tileK: 16 },
  small: { wgX: 16, wgY: 16, rows: 4, cols4: 1, tileK: 16 },
  narrow: { wgX: 8, wgY: 32, rows: 4, cols4: 1, tileK: 16 },
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
  label?: string;
}

/** Picks a tile for an M×N output on this engine's device. */
export function chooseTile(engine: Engine, M: number, N: number): MatmulTile {
  const fits = (t: MatmulTile) => workgroupBytes(t) <= engine.limits.maxComputeWorkgroupStorageSize;
  const pick = (t: MatmulTile) => (fits(t) ? t : { ...t, tileK: 8 });
  if (engine.isCpuAdapter) return pick(N <= 32 ? CPU_TILES.narrow : CPU_TILES.wide);
  if (N <= 32) return pick(GPU_TILES.narrow);
  // Below ~64 workgroups of 128×128, smaller tiles keep more multiprocessors busy.
  const blocks = Math.ceil(M / 128) * Math.ceil(N / 128);
  return pick(blocks >= 64 ? GPU_TILES.large : GPU_TILES.small);
}

/** Workgroup memory the tiles of a tile shape take. */
export function workgroupBytes(t: MatmulTile): number {
  return t.staging === 'direct' ? 0 : (tileM(t) + tileN(t) + 8 * (t.pad ?? 1)) * t.tileK * 4;
}

const tileKey = (t: MatmulTile) => `${t.wgX}x${t.wgY}:${t.rows}x${t.cols4}:${t.tileK}:${t.pad ?? 1}:${t.staging ?? 'workgroup'}`;

const modules = new Map<string, string>();

/** WGSL for one tile shape: the template with its unrolled accumulate, multiply and store. */
export function matmulSource(t: MatmulTile): string {
  const key = tileKey(t);
  let code = modules.get(key);
  if (code) return code;
  if (t.rows % 4 !== 0) throw new Error(`shadergrad: matmul tile rows must be a multiple of 4, got ${t.rows}`);
  const lines = (f: (i: number, j: number) => string) => {
    const out: string[] = [];
    for (let i = 0; i < t.rows; i++) for (let j = 0; j < t.cols4; j++) out.push(f(i, j));
    return out.join('\n  ');
  };
  const constants = [
    `const WG_X = ${t.wgX}u;`,
    `const WG_Y = ${t.wgY}u;`,
    `const TILE_M = ${tileM(t)}u;`,
    `const TILE_N = ${tileN(t)}u;`,
    `const TILE_K = ${t.tileK}u;`,
    `const PAD = ${t.pad ?? 1}u;`,
    `const ROWS = ${t.rows}u;`,
  ].join('\n');
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
  code = template
    .replace('//@ constants', constants)
    .replace('//@ accumulators', accumulators)
    .replace('//@ multiply', multiply)
    .replace('//@ store', store)
    .replace('//@ direct-setup', directSetup)
    .replace('//@ accumulators', accumulators)
    .replace('//@ direct-multiply', directMultiply)
    .replace('//@ direct-store', directStore);
  modules.set(key, code);
  return code;
}

const kernels = new Map<string, Kernel>();

/** The matmul kernel of one tile shape and transposition (bias and ReLU are uniform flags). */
export function matmulKernel(t: MatmulTile, ta = false, tb = false): Kernel {
  const key = `${tileKey(t)}:${ta}${tb}`;
  let kernel = kernels.get(key);
  if (!kernel) {
    const direct = t.staging === 'direct';
    kernel = defineKernel({
      name: `matmul_${direct ? 'direct_' : ''}${tileM(t)}x${tileN(t)}`,
      source: matmulSource(t),
      entryPoint: direct ? 'direct' : 'main',
      bindings: ['read', 'read', 'read', 'write'],
      uniforms: ['u32', 'u32', 'u32', 'u32'],
      workgroupSize: t.wgX * t.wgY,
      constants: { TRANS_A: +ta, TRANS_B: +tb },
    });
    kernels.set(key, kernel);
  }
  return kernel;
}

const FLAGS = { bias: 1, relu: 2 } as const;

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
  const tile = options.tile ?? chooseTile(engine, M, N);
  const kernel = matmulKernel(tile, transA, transB);
  const outShape = options.outShape ?? [M, N];
  if (outShape.reduce((p, d) => p * d, 1) !== M * N) {
    throw new Error(`shadergrad: ${name}: result shape ${fmt(outShape)} does not hold ${M}×${N}`);
  }
  const out = engine.empty(outShape, 'f32', name);
  if (M === 0 || N === 0) return out;
  const grid: [number, number, number] = [Math.ceil(N / tileN(tile)), Math.ceil(M / tileM(tile)), 1];
  const flags = (bias ? FLAGS.bias : 0) | (relu ? FLAGS.relu : 0);
  engine.dispatch(kernel, [a, b, bias ?? engine.placeholder, out], grid, [M, N, K, flags]);
  return out;
}
