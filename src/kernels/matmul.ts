// Matrix product C = op(A)·op(B) [+ bias] [→ ReLU]: the op, its kernels per tile shape, and split-K's sum.

import splitSource from '../../shaders/matmul-split.wgsl?raw';
import type { Engine } from '../engine/engine';
import { Tensor, fmt, rowSize } from '../tensor';
import { defineKernel, elementGrid, type Kernel } from './kernel';
import { matmulSource } from './matmul-source';
import { chooseSplit, chooseTile, kGroupsOf, tileInvocations, tileKey, tileM, tileN, vec4Applies, type MatmulTile } from './matmul-tiles';
import { ShadergradError } from '../errors';

// The tile policy is its own file; its public names are matmul's too.
export { chooseSplit, chooseTile, tileInvocations, tileM, tileN, vec4Applies, workgroupBytes, type MatmulTile } from './matmul-tiles';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor;
  relu?: boolean;
  /** Shape of the result (same size as M×N); default [M, N]. */
  outShape?: readonly number[];
  /**
   * Write the result into this f32 tensor of M×N elements (say a view of a slab that holds a whole
   * model's gradients) instead of a new one; returned as the result. Its buffer must not hold A, B
   * or the bias.
   */
  out?: Tensor;
  /** Force a tile shape (benchmarks and tests of every code path). */
  tile?: MatmulTile;
  /**
   * Layers K is split into (split-K: each layer's workgroups multiply one range of K, a second
   * kernel adds the layers up); 1 for none. Default: `chooseSplit`.
   */
  splitK?: number;
  label?: string;
}

const kernels = new Map<string, Kernel>();

/** The matmul kernel of one tile shape and transposition, split-K's variant when `layered` (bias and ReLU are uniform flags). */
function matmulKernel(t: MatmulTile, ta = false, tb = false, layered = false): Kernel {
  const key = `${tileKey(t)}:${ta}${tb}:${layered}`;
  let kernel = kernels.get(key);
  if (!kernel) {
    const direct = t.staging === 'direct';
    const grouped = kGroupsOf(t) > 1;
    kernel = defineKernel({
      name: `matmul_${direct || t.staging === 'vec4' ? `${t.staging}_` : grouped ? `grouped${t.kGroups}_` : ''}${tileM(t)}x${tileN(t)}${layered ? '_split' : ''}`,
      source: matmulSource(t, ta, tb, layered),
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
  return [t.shape[0]!, rowSize(t.shape)];
}

/**
 * C = op(A)·op(B) [+ bias] [→ ReLU]; op transposes when asked. A tensor of rank above 2 is seen
 * as a matrix of its first dimension by the product of the rest (the affine layer's view).
 * Returns a new M×N tensor (or `outShape`), or `out` written.
 */
export function matmul(engine: Engine, a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const { transA = false, transB = false, bias, relu = false } = options;
  const name = options.label ?? 'matmul';
  if (a.rank < 2 || b.rank < 2) {
    throw new ShadergradError(name, `expects matrices, got A ${fmt(a.shape)} and B ${fmt(b.shape)}`);
  }
  if (a.dtype !== 'f32' || b.dtype !== 'f32') {
    throw new ShadergradError(name, `expects f32 operands, got ${a.dtype} and ${b.dtype}`);
  }
  const [ar, ac] = asMatrix(a);
  const [br, bc] = asMatrix(b);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (K !== Kb) {
    throw new ShadergradError(
      name,
      `inner dimensions differ: op(A) is ${M}×${K}, op(B) is ${Kb}×${N} ` +
        `(A ${fmt(a.shape)}${transA ? 'ᵀ' : ''}, B ${fmt(b.shape)}${transB ? 'ᵀ' : ''})`,
    );
  }
  if (bias && (bias.size !== N || bias.dtype !== 'f32')) {
    throw new ShadergradError(name, `bias must be f32 with ${N} elements, got ${bias.dtype} ${fmt(bias.shape)}`);
  }
  if (options.splitK !== undefined && !(Number.isInteger(options.splitK) && options.splitK >= 1)) {
    throw new ShadergradError(name, `splitK must be a whole number of layers ≥ 1, got ${options.splitK}`);
  }
  const given = options.out;
  if (given !== undefined) {
    if (!(given instanceof Tensor) || given.dtype !== 'f32' || given.size !== M * N) {
      const got = given instanceof Tensor ? `${given.dtype} ${fmt(given.shape)}` : String(given);
      throw new ShadergradError(name, `out must be an f32 tensor of ${M}×${N} = ${M * N} elements, got ${got}`);
    }
    if (options.outShape) throw new ShadergradError(name, `give out or outShape, not both (out keeps its own shape)`);
    if (given.engine !== a.engine) throw new ShadergradError(name, `out belongs to another Engine than A and B`);
    const storage = given.storageFor(name);
    for (const [what, t] of [['A', a], ['B', b], ['the bias', bias]] as const) {
      if (t && t.storageFor(name) === storage) throw new ShadergradError(name, `out shares its GPU buffer with ${what} (the same tensor, or views of one slab)`);
    }
  }
  let tile = options.tile ?? chooseTile(engine, M, N, K);
  if (tile.staging === 'vec4' && !vec4Applies(M, N, K, transA, transB, given ? [a, b, given] : [a, b])) tile = { ...tile, staging: 'workgroup' };
  // Each layer's k-range is whole k-tiles (a vec4 tile's loads start on a multiple of 4); layers
  // that would be left empty are dropped.
  const wanted = options.splitK ?? chooseSplit(engine, M, N, K, tile);
  const kSlice = wanted > 1 ? Math.ceil(Math.ceil(K / wanted) / tile.tileK) * tile.tileK : Math.max(K, 1);
  const layers = Math.max(1, Math.ceil(K / kSlice));
  const kernel = matmulKernel(tile, transA, transB, layers > 1);
  const outShape = options.outShape ?? [M, N];
  if (outShape.reduce((p, d) => p * d, 1) !== M * N) {
    throw new ShadergradError(name, `result shape ${fmt(outShape)} does not hold ${M}×${N}`);
  }
  const out = given ?? engine.empty(outShape, 'f32', name);
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
