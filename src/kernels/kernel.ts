// The kernel interface: a WGSL compute entry point, its bindings and its uniform block.

import type { UniformType } from '../engine/uniforms';
import preamble from '../../shaders/preamble.wgsl?raw';

/** How a kernel binds a buffer: read-only or read-write storage (its uniform block is bound apart). */
export type BindingKind = 'read' | 'write';

export interface Kernel {
  /** Labels the pipeline, bind groups and passes, so GPU errors and captures name the kernel. */
  readonly name: string;
  /** Whole WGSL module: the shared preamble, then the kernel family's file. */
  readonly code: string;
  readonly entryPoint: string;
  /** Storage bindings @group(0) @binding(0..n-1), in order. */
  readonly bindings: readonly BindingKind[];
  /** Bindings that read tensors kept as packed 8-bit values too (a dataset's rows); others refuse them. */
  readonly packed: readonly number[];
  /** Fields of the `Params` uniform struct at @binding(n), in order; none if the kernel has none. */
  readonly uniforms: readonly UniformType[];
  /** Override constants the pipeline is built with. */
  readonly constants: Readonly<Record<string, number>>;
  /** Invocations per workgroup (for grid sizing). */
  readonly workgroupSize: number;
}

export interface KernelSpec {
  name: string;
  source: string;
  entryPoint?: string;
  bindings: readonly BindingKind[];
  packed?: readonly number[];
  uniforms?: readonly UniformType[];
  constants?: Record<string, number>;
  workgroupSize?: number;
}

/** Declares a kernel from a shader family's WGSL; the shared preamble is prepended. */
export function defineKernel(spec: KernelSpec): Kernel {
  return Object.freeze({
    name: spec.name,
    code: `${preamble}\n${spec.source}`,
    entryPoint: spec.entryPoint ?? 'main',
    bindings: spec.bindings,
    packed: spec.packed ?? [],
    uniforms: spec.uniforms ?? [],
    constants: spec.constants ?? {},
    workgroupSize: spec.workgroupSize ?? 256,
  });
}

/** Workgroups per dimension is at most 65535: larger 1-D grids fold into a second dimension. */
const MAX_WORKGROUPS_PER_DIM = 65535;

/** A 2-D grid covering `workgroups` workgroups; kernels recover the flat index with `flat_workgroup`. */
export function grid1d(workgroups: number): [number, number, number] {
  const n = Math.max(1, workgroups);
  if (n <= MAX_WORKGROUPS_PER_DIM) return [n, 1, 1];
  const y = Math.ceil(n / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(n / y), y, 1];
}

/** Grid for one invocation per element, `perInvocation` elements each. */
export function elementGrid(kernel: Kernel, elements: number, perInvocation = 1): [number, number, number] {
  return grid1d(Math.ceil(elements / (kernel.workgroupSize * perInvocation)));
}
