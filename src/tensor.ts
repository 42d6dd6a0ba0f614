// Tensor: a shaped f32 or i32 array living in a pooled GPU buffer.

import type { Engine } from './engine/engine';
import type { GpuBuffer } from './engine/pool';
import { ShadergradError } from './errors';

export type DType = 'f32' | 'i32';

/**
 * How the elements sit in the buffer: as their dtype, or (datasets) as 8-bit values packed four
 * to a word that read as f32 in [0, 1] — 60000 images of 784 pixels take 47 MB instead of 188.
 */
export type StorageFormat = 'native' | 'unorm8';
export type TensorData = Float32Array | Int32Array | ArrayLike<number>;

/** What a packed 8-bit tensor given where f32 is needed is told: what it is and how to unpack it. */
const PACKED_DATA =
  'holds 8-bit data packed on the GPU (a dataset); unpack rows of it with datasets.toFloat32(X, start, count) first ' +
  '(model.loss, model.predict and the Solver take it as it is)';

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  private _disposed = false;

  /** @internal Made by the engine and the ops; users call engine.tensor(). */
  constructor(
    readonly engine: Engine,
    private readonly buf: GpuBuffer,
    shape: readonly number[],
    readonly dtype: DType,
    readonly format: StorageFormat = 'native',
    /** Where the data starts in the buffer (views into a slab; a multiple of 256). */
    readonly byteOffset = 0,
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    engine.liveTensors++;
  }

  get disposed(): boolean {
    return this._disposed;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Bytes the data takes in the buffer. */
  get byteLength(): number {
    return this.format === 'unorm8' ? Math.ceil(this.size / 4) * 4 : this.size * 4;
  }

  /** @internal The buffer behind this tensor, for binding; throws if the tensor was disposed. */
  storageFor(op: string): GpuBuffer {
    const buf = this.packedStorageFor(op);
    if (this.format === 'unorm8') throw new ShadergradError(op, `a tensor of shape ${fmt(this.shape)} ${PACKED_DATA}`);
    return buf;
  }

  /** @internal The buffer whatever its format (kernels that read packed 8-bit data). */
  packedStorageFor(op: string): GpuBuffer {
    if (this._disposed) throw new ShadergradError(op, `a tensor of shape [${this.shape.join(', ')}] was used after dispose()`);
    return this.buf;
  }

  /** @internal */
  get storage(): GpuBuffer {
    return this.storageFor('tensor');
  }

  /** Copies the data back from the GPU. */
  async read(): Promise<Float32Array | Int32Array> {
    const buf = this.packedStorageFor('read');
    if (this.format === 'unorm8') {
      const bytes = new Uint8Array(await this.engine.readBuffer(buf, this.size, this.byteOffset));
      return Float32Array.from(bytes, (v) => v / 255);
    }
    const bytes = await this.engine.readBuffer(buf, this.size * 4, this.byteOffset);
    return this.dtype === 'i32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShadergradError('item()', `tensor of shape [${this.shape.join(', ')}] has ${this.size} elements, not 1`);
    return (await this.read())[0]!;
  }

  /** A view with another shape of the same size, sharing this tensor's buffer (dispose both). */
  reshape(shape: readonly number[]): Tensor {
    const buf = this.packedStorageFor('reshape');
    checkShape('reshape', shape);
    if (shapeSize(shape) !== this.size) {
      throw new ShadergradError('reshape', `cannot view [${this.shape.join(', ')}] (${this.size} elements) as [${shape.join(', ')}]`);
    }
    buf.refs++;
    return new Tensor(this.engine, buf, shape, this.dtype, this.format, this.byteOffset);
  }

  /** Returns the buffer to the pool. Using the tensor afterwards throws. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this.engine.liveTensors--;
    this.engine.pool.release(this.buf);
  }

  toString(): string {
    return `Tensor(${this.dtype}${this.format === 'unorm8' ? ' as unorm8' : ''}, [${this.shape.join(', ')}])`;
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Elements per row of an (N, …) shape: the product of the dimensions after the first. */
export function rowSize(shape: readonly number[]): number {
  return shapeSize(shape.slice(1));
}

export function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShadergradError(op, `shape must be a list of non-negative integers, got [${String(shape)}]`);
  }
}

/** What a value is, for error messages: 'Tensor' (a literal: bundlers rename classes), 'null', a class or type name. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Tensor) return 'Tensor';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/**
 * An op's guard, before it allocates or dispatches anything: each named input is a live Tensor of
 * one Engine, in the plain f32/i32 layout unless `packed` names it as one that may hold packed 8-bit
 * data (a dataset's X). Returns that engine. The Error names the op and the input, not a kernel.
 */
export function checkTensors(op: string, inputs: ReadonlyArray<readonly [name: string, value: unknown]>, { packed = [] }: { packed?: readonly string[] } = {}): Engine {
  let first: [string, Tensor] | null = null;
  for (const [name, value] of inputs) {
    if (!(value instanceof Tensor)) throw new ShadergradError(op, `${name} must be a Tensor, got ${typeName(value)}`);
    if (value.disposed) throw new ShadergradError(op, `${name} ${fmt(value.shape)} was disposed`);
    if (value.format === 'unorm8' && !packed.includes(name)) throw new ShadergradError(op, `${name} ${fmt(value.shape)} ${PACKED_DATA}`);
    if (!first) first = [name, value];
    else if (value.engine !== first[1].engine) throw new ShadergradError(op, `${name} and ${first[0]} belong to different Engines`);
  }
  if (!first) throw new ShadergradError(op, `no tensors given`);
  return first[1].engine;
}

/** The largest finite f32, and the smallest normal one (GPUs may flush smaller values to 0). */
export const F32_MAX = 3.4028234663852886e38;
export const F32_MIN_NORMAL = 1.1754943508222875e-38;

/** A positive number f32 holds as a normal value (an epsilon: 0 or a denormal would divide by 0). */
export const isPositiveNormalF32 = (v: number) => v >= F32_MIN_NORMAL && v <= F32_MAX;

/** Shape as text for error messages. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
