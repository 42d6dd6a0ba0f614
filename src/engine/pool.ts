// Buffer pool: GPU buffers reused by exact byte size, owned by the engine or by a captured step.

/** WebGPU buffer usage bits (numeric, so Node needs no GPUBufferUsage global). */
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  INDEX: 0x0010,
  VERTEX: 0x0020,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
  QUERY_RESOLVE: 0x0200,
} as const;

const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

/** One storage buffer and its bookkeeping. Tensors share one through `refs` (reshaped views). */
export class GpuBuffer {
  refs = 0;
  /** The batch (submit) whose recorded commands last used this buffer; see Engine.writeBuffer. */
  usedInBatch = -1;
  /** A captured step that owns this buffer: freed buffers stay with it until it is disposed. */
  owner: PoolScope | null = null;
  /** Live captured steps whose commands use this buffer: freed meanwhile, it waits for them. */
  holds = 0;
  /** Freed while held: goes back to the pool when the last holding step is disposed. */
  released = false;
  constructor(
    readonly buffer: GPUBuffer,
    readonly bytes: number,
  ) {}
}

/** A set of buffers owned together (a captured step's): freed ones are reused only inside it. */
export class PoolScope {
  readonly free = new Map<number, GpuBuffer[]>();
  readonly owned = new Set<GpuBuffer>();
  disposed = false;
}

export interface PoolStats {
  liveBuffers: number;
  pooledBuffers: number;
  bytesAllocated: number;
  bytesLive: number;
  bytesPooled: number;
  buffersCreated: number;
}

/** Rounds a byte count up to what a storage buffer of that size is allocated as. */
function storageBytes(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

export class BufferPool {
  private readonly free = new Map<number, GpuBuffer[]>();
  private readonly all = new Set<GpuBuffer>();
  private scope: PoolScope | null = null;
  private created = 0;

  constructor(private readonly device: GPUDevice) {}

  /** Buffers acquired while a scope is open belong to it (a capture in progress). */
  openScope(scope: PoolScope | null): PoolScope | null {
    const previous = this.scope;
    this.scope = scope;
    return previous;
  }

  acquire(bytes: number, label: string): GpuBuffer {
    const size = storageBytes(bytes);
    const scope = this.scope;
    let buf = (scope && takeFrom(scope.free, size)) || takeFrom(this.free, size);
    if (!buf) {
      const buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label: `shadergrad:${label}` });
      buf = new GpuBuffer(buffer, size);
      this.all.add(buf);
      this.created++;
    }
    if (scope && !buf.owner) {
      buf.owner = scope;
      scope.owned.add(buf);
    }
    buf.refs = 1;
    return buf;
  }

  /**
   * Drops one reference; at zero the buffer goes back to its owner's free list — or, while a live
   * captured step still uses it (a tensor made before the capture and freed after), it waits for
   * that step's disposal: handing it out again would let its next replay overwrite a stranger.
   */
  release(buf: GpuBuffer): void {
    if (buf.refs <= 0) return;
    if (--buf.refs > 0) return;
    if (buf.holds > 0) {
      buf.released = true;
      return;
    }
    let owner = buf.owner && !buf.owner.disposed ? buf.owner : null;
    // Freed during a capture: the step being captured may have used it, so it stays with that step
    // (even if another step made it: disposing that one must not hand it to a stranger).
    if (this.scope && owner !== this.scope) {
      owner?.owned.delete(buf);
      owner = this.scopeFor(buf);
    }
    pushTo(owner ? owner.free : this.free, buf);
  }

  /** While a scope is open, a buffer freed into it (even one made before) stays with it. */
  private scopeFor(buf: GpuBuffer): PoolScope | null {
    const scope = this.scope;
    if (!scope) return null;
    buf.owner = scope;
    scope.owned.add(buf);
    return scope;
  }

  /** A captured step now uses these buffers. */
  hold(buffers: Iterable<GpuBuffer>): void {
    for (const buf of buffers) buf.holds++;
  }

  /** A captured step using these buffers was disposed: those freed meanwhile go back to the pool. */
  unhold(buffers: Iterable<GpuBuffer>): void {
    for (const buf of buffers) {
      if (--buf.holds > 0 || !buf.released) continue;
      buf.released = false;
      if (buf.refs === 0) {
        buf.refs = 1;
        this.release(buf);
      }
    }
  }

  /** Returns a scope's free buffers to the engine's pool; buffers still in use leave the scope. */
  disposeScope(scope: PoolScope): void {
    if (scope.disposed) return;
    scope.disposed = true;
    for (const buf of scope.owned) {
      buf.owner = null;
    }
    for (const list of scope.free.values()) {
      for (const buf of list) {
        // Another live step still uses it: it goes back to the pool when that one is disposed.
        if (buf.holds > 0) buf.released = true;
        else pushTo(this.free, buf);
      }
    }
    scope.free.clear();
    scope.owned.clear();
  }

  /** Destroys every pooled (unused) buffer (the engine submits pending commands first: see Engine.trim). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buf of list) {
        buf.buffer.destroy();
        this.all.delete(buf);
      }
    }
    this.free.clear();
  }

  stats(): PoolStats {
    let liveBuffers = 0;
    let bytesAllocated = 0;
    let bytesLive = 0;
    for (const buf of this.all) {
      bytesAllocated += buf.bytes;
      if (buf.refs > 0) {
        liveBuffers++;
        bytesLive += buf.bytes;
      }
    }
    return {
      liveBuffers,
      pooledBuffers: this.all.size - liveBuffers,
      bytesAllocated,
      bytesLive,
      bytesPooled: bytesAllocated - bytesLive,
      buffersCreated: this.created,
    };
  }

  destroy(): void {
    for (const buf of this.all) buf.buffer.destroy();
    this.all.clear();
    this.free.clear();
  }
}

function takeFrom(lists: Map<number, GpuBuffer[]>, size: number): GpuBuffer | undefined {
  return lists.get(size)?.pop();
}

function pushTo(lists: Map<number, GpuBuffer[]>, buf: GpuBuffer): void {
  const list = lists.get(buf.bytes);
  if (list) list.push(buf);
  else lists.set(buf.bytes, [buf]);
}
