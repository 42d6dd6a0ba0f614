// Uniform arena: each dispatch's small parameter block, packed into shared uniform buffers.

import { BufferUsage } from './pool';
import { ShadergradError } from '../errors';

/** A uniform field's WGSL type; a kernel lists its fields in order, as its `Params` struct does. */
export type UniformType = 'u32' | 'i32' | 'f32';

/**
 * A uniform value: a number, or a function read again each time a captured step is replayed
 * (a learning rate that decays, Adam's step count, a dropout seed).
 */
export type UniformValue = number | (() => number);

export interface UniformSlice {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

const CHUNK_BYTES = 64 * 1024;

interface Chunk {
  buffer: GPUBuffer;
  bytes: ArrayBuffer;
  u32: Uint32Array;
  i32: Int32Array;
  f32: Float32Array;
  used: number;
  uploaded: number;
}

interface DynamicField {
  chunk: Chunk;
  word: number;
  type: UniformType;
  value: () => number;
}

/**
 * Packs uniform blocks at the device's offset alignment. The engine's arena is reset after each
 * submit (queue order makes that safe: a later writeBuffer runs after the earlier submit); a
 * captured step keeps its own arena for its whole life and re-evaluates its dynamic fields.
 */
export class UniformArena {
  private readonly chunks: Chunk[] = [];
  private readonly dynamic: DynamicField[] = [];
  private current = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly align: number,
    private readonly label: string,
  ) {}

  get hasDynamic(): boolean {
    return this.dynamic.length > 0;
  }

  alloc(types: readonly UniformType[], values: readonly UniformValue[]): UniformSlice {
    if (types.length !== values.length) {
      throw new ShadergradError(null, `uniform block has ${types.length} fields but ${values.length} values were given`);
    }
    const size = Math.max(16, Math.ceil((types.length * 4) / 16) * 16);
    let chunk = this.chunks[this.current];
    if (!chunk || chunk.used + size > CHUNK_BYTES) {
      if (chunk) this.current++;
      chunk = this.chunks[this.current] ?? this.newChunk();
    }
    const offset = chunk.used;
    chunk.used = Math.ceil((offset + size) / this.align) * this.align;
    const word0 = offset / 4;
    for (let i = 0; i < types.length; i++) {
      const value = values[i]!;
      const type = types[i]!;
      if (typeof value === 'function') {
        this.dynamic.push({ chunk, word: word0 + i, type, value });
        write(chunk, word0 + i, type, value());
      } else {
        write(chunk, word0 + i, type, value);
      }
    }
    return { buffer: chunk.buffer, offset, size };
  }

  /** Writes what changed since the last upload (and re-reads dynamic fields) before a submit. */
  upload(queue: GPUQueue, refreshDynamic: boolean): void {
    if (refreshDynamic) {
      for (const field of this.dynamic) {
        write(field.chunk, field.word, field.type, field.value());
        field.chunk.uploaded = 0;
      }
    }
    for (let i = 0; i <= this.current && i < this.chunks.length; i++) {
      const chunk = this.chunks[i]!;
      if (chunk.used > chunk.uploaded) {
        queue.writeBuffer(chunk.buffer, 0, chunk.bytes, 0, chunk.used);
        chunk.uploaded = chunk.used;
      }
    }
  }

  /** Forgets every block (the engine's arena, after a submit). */
  reset(): void {
    for (const chunk of this.chunks) {
      chunk.used = 0;
      chunk.uploaded = 0;
    }
    this.dynamic.length = 0;
    this.current = 0;
  }

  destroy(): void {
    for (const chunk of this.chunks) chunk.buffer.destroy();
    this.chunks.length = 0;
  }

  private newChunk(): Chunk {
    const bytes = new ArrayBuffer(CHUNK_BYTES);
    const chunk: Chunk = {
      buffer: this.device.createBuffer({
        size: CHUNK_BYTES,
        usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
        label: `shadergrad:uniforms:${this.label}`,
      }),
      bytes,
      u32: new Uint32Array(bytes),
      i32: new Int32Array(bytes),
      f32: new Float32Array(bytes),
      used: 0,
      uploaded: 0,
    };
    this.chunks.push(chunk);
    return chunk;
  }
}

function write(chunk: Chunk, word: number, type: UniformType, value: number): void {
  if (type === 'f32') chunk.f32[word] = value;
  else if (type === 'i32') chunk.i32[word] = value;
  else chunk.u32[word] = value;
}
