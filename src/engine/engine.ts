// The Engine: one WebGPU device, its buffer pool and pipeline cache, and the batched command stream.

import { requestAdapter, type AdapterRequest } from './gpu';
import { BufferPool, BufferUsage, GpuBuffer, PoolScope, type PoolStats } from './pool';
import { PipelineCache } from './pipelines';
import { UniformArena, type UniformValue } from './uniforms';
import { profileCommands, type KernelTime } from './profiler';
import type { Kernel } from '../kernels/kernel';
import { Tensor, type DType, type TensorData, checkShape, fmt, shapeSize } from '../tensor';
import { DeviceError, ShadergradError } from '../errors';

export interface EngineOptions extends AdapterRequest {
  /** Use this adapter instead of requesting one. */
  adapter?: GPUAdapter;
  /** Use this device (and its adapter's limits) instead of requesting one. */
  device?: GPUDevice;
  /** Submit automatically after this many recorded commands (default 256). */
  maxPendingCommands?: number;
  /** Insert a debug marker named after each kernel before its dispatch (for GPU captures). */
  debugMarkers?: boolean;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export interface EngineStats extends PoolStats {
  liveTensors: number;
  pipelines: number;
  bindGroupsCreated: number;
  dispatches: number;
  submits: number;
  captures: number;
}

/** A recorded GPU command, replayed in order by `flush` (and by captured steps). */
export type Command =
  | { kind: 'dispatch'; kernel: Kernel; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; grid: readonly [number, number, number]; buffers: readonly GpuBuffer[] }
  | { kind: 'copy'; src: GpuBuffer; srcOffset: number; dst: GpuBuffer | GPUBuffer; dstOffset: number; size: number }
  | { kind: 'clear'; dst: GpuBuffer; offset: number; size: number };

export interface ReplayOptions {
  /** Submit at once (default); false leaves the commands queued for the next submit. */
  flush?: boolean;
}

/** A step recorded once by `Engine.capture` and replayed with one submit, without re-running op logic. */
export class CapturedStep<T = unknown> {
  readonly commands: Command[] = [];
  readonly hooks: Array<() => void> = [];
  readonly scope = new PoolScope();
  readonly buffers = new Set<GpuBuffer>();
  /** Staging buffers of data uploaded while it was captured (engine.tensor inside the capture): copied again on each replay. */
  readonly uploads: GpuBuffer[] = [];
  /** The engine batch its commands were last queued in (a second replay must not overwrite its uniforms first). */
  queuedInBatch = -1;
  /** Whether the pool holds this step's buffers for it (from the end of its capture to its disposal). */
  held = false;
  result!: T;
  replays = 0;
  disposed = false;

  constructor(
    readonly engine: Engine,
    readonly arena: UniformArena,
    readonly label: string,
  ) {}

  /** Runs the captured commands again (its hooks first), as one submit. */
  replay(options?: ReplayOptions): T {
    this.engine.replay(this, options);
    return this.result;
  }

  /** Frees the step's buffers and uniform blocks; tensors it returned that are still alive stay valid. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.engine.releaseCapture(this);
  }
}

export class Engine {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter | null;
  readonly adapterInfo: AdapterDescription;
  readonly limits: GPUSupportedLimits;
  readonly features: ReadonlySet<string>;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  /** A 16-byte buffer bound where a kernel's optional input is absent. */
  readonly placeholder: GpuBuffer;

  private readonly arena: UniformArena;
  private pending: Command[] = [];
  private batch = 0;
  private capturing: CapturedStep | null = null;
  /** True while a host hook runs during a capture: its writes are the hook's, made again before each replay. */
  private inHook = false;
  private activeArena: UniformArena;
  private readonly maxPending: number;
  private readonly debugMarkers: boolean;
  private readonly readPool = new Map<number, GPUBuffer[]>();
  private lostError: Error | null = null;
  private gpuErrors: string[] = [];
  private destroyed = false;
  private counters = { bindGroups: 0, dispatches: 0, submits: 0, captures: 0 };
  /** Live tensors, counted by Tensor's constructor and dispose. */
  liveTensors = 0;

  private constructor(adapter: GPUAdapter | null, device: GPUDevice, options: EngineOptions) {
    this.adapter = adapter;
    this.device = device;
    this.limits = device.limits;
    this.features = new Set(device.features as unknown as Iterable<string>);
    const info = adapter?.info ?? (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    this.adapterInfo = {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
    };
    this.pool = new BufferPool(device);
    this.pipelines = new PipelineCache(device);
    this.placeholder = this.pool.acquire(16, 'placeholder');
    this.arena = new UniformArena(device, device.limits.minUniformBufferOffsetAlignment, 'engine');
    this.activeArena = this.arena;
    this.maxPending = options.maxPendingCommands ?? 256;
    this.debugMarkers = options.debugMarkers ?? false;
    device.lost.then((info) => {
      if (this.destroyed) return;
      this.lostError = new DeviceError(
        null,
        `the GPU device was lost (${info.reason || 'unknown'}: ${info.message}). ` +
          'Create a new Engine; tensors of this one are gone.',
      );
    });
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      if (this.gpuErrors.length < 16) this.gpuErrors.push(error.message);
    });
  }

  /** Opens a device: navigator.gpu in the browser, the `webgpu` package (Dawn) in Node. */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    if (options.device) return new Engine(options.adapter ?? null, options.device, options);
    const adapter = options.adapter ?? (await requestAdapter(options));
    const want: Array<keyof GPUSupportedLimits> = [
      'maxStorageBufferBindingSize',
      'maxBufferSize',
      'maxStorageBuffersPerShaderStage',
      'maxComputeWorkgroupStorageSize',
      'maxComputeInvocationsPerWorkgroup',
      'maxComputeWorkgroupSizeX',
      'maxComputeWorkgroupSizeY',
    ];
    const requiredLimits: Record<string, number> = {};
    for (const name of want) requiredLimits[name] = adapter.limits[name] as number;
    const requiredFeatures = (['timestamp-query', 'subgroups', 'shader-f16'] as GPUFeatureName[]).filter((f) =>
      adapter.features.has(f),
    );
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'shadergrad' });
    return new Engine(adapter, device, options);
  }

  /** True when the adapter is a CPU implementation (SwiftShader): kernels pick CPU-friendly tiles. */
  get isCpuAdapter(): boolean {
    const { vendor, architecture, description, device } = this.adapterInfo;
    return /swiftshader|llvmpipe|lavapipe|cpu/i.test(`${vendor} ${architecture} ${description} ${device}`);
  }

  /** Throws if the engine cannot take more work (destroyed, device lost, or a GPU error occurred). */
  check(): void {
    if (this.destroyed) throw new ShadergradError(null, 'this Engine was destroyed');
    if (this.lostError) throw this.lostError;
    if (this.gpuErrors.length) {
      const errors = this.gpuErrors.splice(0);
      throw new DeviceError(null, `GPU error: ${errors.join(' | ')}`);
    }
  }

  // ---- tensors ---------------------------------------------------------------------------------

  /** Uploads data as a tensor: f32 unless `data` is an Int32Array or dtype says 'i32'. */
  tensor(data: TensorData, shape?: readonly number[], dtype?: DType): Tensor {
    this.check();
    const type: DType = dtype ?? (data instanceof Int32Array ? 'i32' : 'f32');
    if (type !== 'f32' && type !== 'i32') throw new ShadergradError('tensor', `dtype must be 'f32' or 'i32', got ${JSON.stringify(type) ?? String(type)}`);
    if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number') {
      throw new ShadergradError('tensor', `data must be an array or typed array of numbers, got ${data === null ? 'null' : typeof data}`);
    }
    const dims = shape ?? [data.length];
    checkShape('tensor', dims);
    const size = shapeSize(dims);
    if (data.length !== size) {
      throw new ShadergradError('tensor', `data has ${data.length} elements but shape [${dims.join(', ')}] needs ${size}`);
    }
    const array = toTypedArray(data, type);
    const out = this.empty(dims, type, 'tensor');
    this.upload(out.storage, array, out.byteOffset);
    return out;
  }

  /**
   * 8-bit data (images) kept packed on the GPU, four values to a word, that reads as f32 in [0, 1]
   * (value / 255). Kernels take rows from it with gatherRows.
   */
  tensorUnorm8(data: Uint8Array, shape: readonly number[]): Tensor {
    this.check();
    checkShape('tensorUnorm8', shape);
    if (data.length !== shapeSize(shape)) {
      throw new ShadergradError('tensorUnorm8', `data has ${data.length} bytes but shape [${shape.join(', ')}] needs ${shapeSize(shape)}`);
    }
    this.checkBindable('tensorUnorm8', shape, Math.ceil(data.length / 4) * 4);
    const buf = this.pool.acquire(Math.ceil(data.length / 4) * 4, 'unorm8');
    const out = new Tensor(this, buf, shape, 'f32', 'unorm8');
    const padded = data.length % 4 ? new Uint8Array(Math.ceil(data.length / 4) * 4) : data;
    if (padded !== data) padded.set(data);
    this.upload(buf, padded, 0);
    return out;
  }

  /**
   * Host data into a new tensor's buffer: a queue write — or, inside a capture (outside its host
   * hooks), an upload the step repeats on every replay: the data goes once into a staging buffer
   * of the step's, and a recorded copy puts it in place, in order with the step's commands (a
   * queue write would happen once, and the buffer, reused inside the step, would hold garbage on
   * the next replay).
   */
  private upload(buf: GpuBuffer, data: ArrayBufferView, byteOffset: number): void {
    const step = this.capturing;
    if (!step || this.inHook) {
      this.writeBuffer(buf, data, byteOffset);
      return;
    }
    const size = wholeWords(data.byteLength);
    const previous = this.pool.openScope(null);
    let staging: GpuBuffer;
    try {
      staging = this.pool.acquire(size, 'capture-upload');
    } finally {
      this.pool.openScope(previous);
    }
    this.device.queue.writeBuffer(staging.buffer, 0, data.buffer, data.byteOffset, Math.ceil(data.byteLength / 4) * 4);
    step.uploads.push(staging);
    if (data.byteLength) this.record({ kind: 'copy', src: staging, srcOffset: 0, dst: buf, dstOffset: byteOffset, size: Math.ceil(data.byteLength / 4) * 4 });
  }

  /** A tensor whose contents are unspecified (kernels that write every element fill it). */
  empty(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    checkShape(label, shape);
    if (dtype !== 'f32' && dtype !== 'i32') throw new ShadergradError(label, `dtype must be 'f32' or 'i32', got ${JSON.stringify(dtype) ?? String(dtype)}`);
    this.checkBindable(label, shape, shapeSize(shape) * 4);
    const buf = this.pool.acquire(shapeSize(shape) * 4, label);
    return new Tensor(this, buf, shape, dtype);
  }

  /**
   * Refuses, by op and shape and before a buffer is made, a tensor too large for the device to bind
   * to a kernel whole (maxStorageBufferBindingSize; WebGPU's default is 128 MiB, most GPUs give more).
   */
  private checkBindable(op: string, shape: readonly number[], bytes: number): void {
    const limit = this.limits.maxStorageBufferBindingSize;
    if (bytes <= limit) return;
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(n < 2 ** 24 ? 1 : 0)} MiB`;
    throw new ShadergradError(
      op,
      `a tensor of shape ${fmt(shape)} takes ${mib(bytes)}, more than this device binds to a kernel ` +
        `(maxStorageBufferBindingSize: ${mib(limit)}); split it into smaller tensors`,
    );
  }

  zeros(shape: readonly number[], dtype: DType = 'f32', label = 'zeros'): Tensor {
    const out = this.empty(shape, dtype, label);
    this.clear(out);
    return out;
  }

  /**
   * A zero-filled tensor that belongs to no captured step, zeroed by a queue write rather than a
   * recorded command: state made while a step is being captured (running averages, optimizer
   * moments) that replays must neither re-zero nor reuse as scratch.
   */
  persistentZeros(shape: readonly number[], dtype: DType = 'f32', label = 'state'): Tensor {
    this.check();
    checkShape(label, shape);
    const previous = this.pool.openScope(null);
    let out: Tensor;
    try {
      out = this.empty(shape, dtype, label);
    } finally {
      this.pool.openScope(previous);
    }
    this.writeZeros(out.storage, out.byteOffset, out.byteLength);
    return out;
  }

  /** Zeroes bytes of a buffer by queue writes (in 4 MiB pieces: no huge host arrays). */
  private writeZeros(buf: GpuBuffer, byteOffset: number, byteLength: number): void {
    const chunk = (this.zeroChunk ??= new Uint8Array(4 << 20));
    const end = byteOffset + Math.ceil(byteLength / 4) * 4;
    for (let at = byteOffset; at < end; at += chunk.length) this.writeBuffer(buf, chunk.subarray(0, Math.min(chunk.length, end - at)), at);
  }

  private zeroChunk: Uint8Array | null = null;

  /** Records setting every element of a tensor to zero. */
  clear(t: Tensor): void {
    this.check();
    const buf = t.packedStorageFor('clear');
    if (t.byteLength) this.record({ kind: 'clear', dst: buf, offset: t.byteOffset, size: Math.ceil(t.byteLength / 4) * 4 });
  }

  /** Writes host data into a buffer, in order with the recorded commands. */
  writeBuffer(buf: GpuBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.check();
    // queue.writeBuffer runs before commands still waiting to be submitted: submit them first
    // when one of them uses this buffer.
    if (buf.usedInBatch === this.batch && this.pending.length) this.flush();
    if (data.byteLength + byteOffset > buf.bytes) {
      throw new ShadergradError('writeBuffer', `${data.byteLength} bytes at ${byteOffset} overflow a ${buf.bytes}-byte buffer`);
    }
    this.device.queue.writeBuffer(buf.buffer, byteOffset, data.buffer, data.byteOffset, Math.ceil(data.byteLength / 4) * 4);
  }

  /** Reads a buffer back to the host (submits what is pending first). */
  async readBuffer(buf: GpuBuffer, bytes: number, byteOffset = 0): Promise<ArrayBuffer> {
    this.check();
    if (this.capturing) throw new ShadergradError(null, 'cannot read a tensor while a step is being captured');
    const size = wholeWords(bytes);
    const staging = this.takeReadBuffer(size);
    this.record({ kind: 'copy', src: buf, srcOffset: byteOffset, dst: staging, dstOffset: 0, size });
    this.flush();
    try {
      await staging.mapAsync(1 /* GPUMapMode.READ */, 0, size);
    } catch (cause) {
      staging.destroy(); // not returned to the read-buffer pool: its state is unknown
      this.check();
      throw new DeviceError(null, 'reading a tensor back from the GPU failed', { cause });
    }
    const copy = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    this.giveReadBuffer(staging, size);
    this.check();
    return copy;
  }

  // ---- commands --------------------------------------------------------------------------------

  /**
   * Records one dispatch of `kernel`: `buffers` bind to @binding(0..n-1) in order, `uniforms` fill
   * its Params block at @binding(n).
   */
  dispatch(
    kernel: Kernel,
    buffers: ReadonlyArray<Tensor | GpuBuffer>,
    grid: readonly [number, number, number],
    uniforms: readonly UniformValue[] = [],
  ): void {
    this.check();
    if (buffers.length !== kernel.bindings.length) {
      throw new ShadergradError(kernel.name, `expects ${kernel.bindings.length} buffers, got ${buffers.length}`);
    }
    const bufs = buffers.map((b, i) =>
      b instanceof Tensor ? (kernel.packed.includes(i) ? b.packedStorageFor(kernel.name) : b.storageFor(kernel.name)) : b,
    );
    this.checkAliasing(kernel, buffers, bufs);
    const pipeline = this.pipelines.get(kernel);
    const entries: GPUBindGroupEntry[] = buffers.map((b, binding) => ({
      binding,
      resource:
        b instanceof Tensor
          ? { buffer: bufs[binding]!.buffer, offset: b.byteOffset, size: wholeWords(b.byteLength) }
          : { buffer: b.buffer },
    }));
    if (kernel.uniforms.length) {
      const slice = this.activeArena.alloc(kernel.uniforms, uniforms);
      entries.push({ binding: bufs.length, resource: { buffer: slice.buffer, offset: slice.offset, size: slice.size } });
    } else if (uniforms.length) {
      throw new ShadergradError(kernel.name, `takes no uniforms, got ${uniforms.length}`);
    }
    const bindGroup = this.device.createBindGroup({
      label: `shadergrad:${kernel.name}`,
      layout: this.pipelines.bindGroupLayout(kernel),
      entries,
    });
    this.counters.bindGroups++;
    for (const g of grid) {
      if (!(g >= 1 && g <= this.limits.maxComputeWorkgroupsPerDimension)) {
        throw new ShadergradError(kernel.name, `grid [${grid.join(', ')}] is outside 1..${this.limits.maxComputeWorkgroupsPerDimension}`);
      }
    }
    this.record({ kind: 'dispatch', kernel, pipeline, bindGroup, grid, buffers: bufs });
  }

  /**
   * WebGPU refuses a dispatch that writes a buffer and also reads it (any ranges), and a kernel
   * writing one range twice would race: refused here, by binding, before anything is recorded.
   * Two written bindings of disjoint ranges of one buffer (views of one slab) are allowed.
   */
  private checkAliasing(kernel: Kernel, buffers: ReadonlyArray<Tensor | GpuBuffer>, bufs: readonly GpuBuffer[]): void {
    // The bytes each binding binds (as its bind group entry: wholeWords of the tensor's).
    const range = (i: number): [number, number] => {
      const b = buffers[i]!;
      return b instanceof Tensor ? [b.byteOffset, b.byteOffset + wholeWords(b.byteLength)] : [0, Infinity];
    };
    kernel.bindings.forEach((kind, i) => {
      if (kind !== 'write') return;
      const [start, end] = range(i);
      const j = bufs.findIndex((b, k) => {
        if (k === i || b !== bufs[i]) return false;
        if (kernel.bindings[k] !== 'write') return true;
        const [s, e] = range(k);
        return start < e && s < end;
      });
      if (j >= 0) {
        const what = kernel.bindings[j] === 'write' ? 'is written too, to an overlapping range of the same GPU buffer' : 'reads the same GPU buffer (the same tensor, or views of one slab)';
        throw new ShadergradError(kernel.name, `binding ${i} is written and binding ${j} ${what}; give the output a buffer of its own`);
      }
    });
  }

  /** Records a copy of a tensor's data into another of the same size (ordered with the dispatches around it). */
  copy(src: Tensor, dst: Tensor): void {
    this.check();
    if (src.byteLength !== dst.byteLength || src.format !== dst.format) {
      throw new ShadergradError('copy', `${src} and ${dst} differ in size or format`);
    }
    const s = src.packedStorageFor('copy');
    const d = dst.packedStorageFor('copy');
    if (s === d && src.byteLength) {
      // WebGPU copies between two buffers only: two views of one slab cannot be copied into each other.
      throw new ShadergradError('copy', `${src} and ${dst} share one GPU buffer (views of one slab); copy through a separate tensor`);
    }
    if (src.byteLength) {
      this.record({ kind: 'copy', src: s, srcOffset: src.byteOffset, dst: d, dstOffset: dst.byteOffset, size: Math.ceil(src.byteLength / 4) * 4 });
    }
  }

  /**
   * One buffer holding several tensors, each at an offset aligned for binding: parameters that
   * one optimizer dispatch updates together. Returns the whole (flat) tensor and the views.
   */
  slab(shapes: Record<string, readonly number[]>, label = 'slab'): { flat: Tensor; views: Record<string, Tensor> } {
    const align = this.limits.minStorageBufferOffsetAlignment;
    const offsets: Record<string, number> = {};
    let bytes = 0;
    for (const [name, shape] of Object.entries(shapes)) {
      checkShape(label, shape);
      offsets[name] = bytes;
      bytes += Math.ceil((shapeSize(shape) * 4) / align) * align;
    }
    this.checkBindable(label, [bytes / 4], bytes);
    // Made while a step is being captured, it belongs to no step (as persistentZeros): parameters
    // outlive the step, and a buffer the step already used would be written by its replays.
    const previous = this.pool.openScope(null);
    let buf: GpuBuffer;
    try {
      buf = this.pool.acquire(bytes, label);
    } finally {
      this.pool.openScope(previous);
    }
    // Zeroed now (not by a recorded command): the padding between views stays zero for good.
    this.writeZeros(buf, 0, bytes);
    const flat = new Tensor(this, buf, [bytes / 4], 'f32');
    const views: Record<string, Tensor> = {};
    for (const [name, shape] of Object.entries(shapes)) {
      buf.refs++;
      views[name] = new Tensor(this, buf, shape, 'f32', 'native', offsets[name]!);
    }
    return { flat, views };
  }

  /** Views into `flat` at the offsets and shapes of another slab's views (optimizer state laid out like the parameters). */
  viewsLike(flat: Tensor, layout: Record<string, Tensor>): Record<string, Tensor> {
    const buf = flat.packedStorageFor('viewsLike');
    // Every view is checked before any is made: a refused layout leaves no views behind.
    for (const [name, t] of Object.entries(layout)) {
      // Inside flat itself, not merely inside its buffer (flat may be a view of a larger one).
      if (t.byteOffset + t.byteLength > flat.byteLength || flat.byteOffset + t.byteOffset + t.byteLength > buf.bytes) {
        throw new ShadergradError('viewsLike', `${name} ${t} does not fit in ${flat}`);
      }
    }
    const views: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(layout)) {
      buf.refs++;
      views[name] = new Tensor(this, buf, t.shape, flat.dtype, 'native', flat.byteOffset + t.byteOffset);
    }
    return views;
  }

  /**
   * Runs `fn` now, and again before each replay when a step is being captured: host-side state a
   * captured step advances (Adam's t, a dropout seed, the next minibatch's indices).
   */
  host(fn: () => void): void {
    const hooked = this.inHook;
    this.inHook = true;
    try {
      fn();
    } finally {
      this.inHook = hooked;
    }
    this.capturing?.hooks.push(fn);
  }

  get isCapturing(): boolean {
    return this.capturing !== null;
  }

  private record(command: Command): void {
    this.pending.push(command);
    this.markUsed(command);
    if (this.capturing) {
      this.capturing.commands.push(command);
      forEachBuffer(command, (b) => this.capturing!.buffers.add(b));
    }
    if (command.kind === 'dispatch') this.counters.dispatches++;
    if (!this.capturing && this.pending.length >= this.maxPending) this.flush();
  }

  private markUsed(command: Command): void {
    const batch = this.batch;
    forEachBuffer(command, (b) => (b.usedInBatch = batch));
  }

  /** Encodes everything recorded since the last submit into one command buffer and submits it. */
  flush(): void {
    if (!this.pending.length || this.destroyed) return;
    if (this.capturing) throw new ShadergradError(null, 'cannot submit while a step is being captured');
    const commands = this.pending;
    this.pending = [];
    this.arena.upload(this.device.queue, false);
    const encoder = this.device.createCommandEncoder({ label: 'shadergrad' });
    encodeCommands(encoder, commands, this.debugMarkers);
    this.device.queue.submit([encoder.finish()]);
    this.counters.submits++;
    this.arena.reset();
    this.batch++;
  }

  /** Resolves when the GPU has finished everything submitted so far. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  // ---- capture and replay ----------------------------------------------------------------------

  /**
   * Runs `fn` once, eagerly, recording its commands; the returned step replays them later with one
   * submit. Buffers made or freed inside belong to the step until it is disposed.
   */
  capture<T>(fn: () => T, label = 'step'): CapturedStep<T> {
    this.check();
    if (this.capturing) throw new ShadergradError(null, 'captures cannot be nested');
    this.flush();
    const arena = new UniformArena(this.device, this.limits.minUniformBufferOffsetAlignment, label);
    const step = new CapturedStep<T>(this, arena, label);
    this.capturing = step;
    this.activeArena = arena;
    const previousScope = this.pool.openScope(step.scope);
    try {
      step.result = fn();
      if (step.result && typeof (step.result as { then?: unknown }).then === 'function') {
        throw new ShadergradError(`capture '${label}'`, `the function returned a Promise; a capture records synchronous work only (what follows an await would not be part of the step)`);
      }
    } catch (error) {
      // The step's commands are dropped: none of its buffers is in use by anything pending now, so a
      // new batch begins (a buffer marked as used in this one would make a later write try to submit,
      // inside the next capture).
      this.pending = [];
      this.batch++;
      this.pool.openScope(previousScope);
      this.capturing = null;
      this.activeArena = this.arena;
      this.releaseCapture(step);
      throw error;
    }
    this.pool.openScope(previousScope);
    this.capturing = null;
    this.activeArena = this.arena;
    this.pool.hold(step.buffers);
    step.held = true;
    this.counters.captures++;
    arena.upload(this.device.queue, false);
    this.flush();
    return step;
  }

  /** Replays a captured step: its hooks, then its commands, in one submit (with what is pending). */
  replay(step: CapturedStep, { flush = true }: ReplayOptions = {}): void {
    this.check();
    if (step.disposed) throw new ShadergradError(null, `captured step '${step.label}' was disposed`);
    if (this.capturing) throw new ShadergradError(null, 'cannot replay a step while capturing another');
    // Its uniforms are rewritten below: an earlier replay still waiting in this batch goes first.
    if (step.queuedInBatch === this.batch) this.flush();
    for (const hook of step.hooks) hook();
    step.arena.upload(this.device.queue, true);
    const batch = this.batch;
    for (const b of step.buffers) b.usedInBatch = batch;
    for (const c of step.commands) this.pending.push(c);
    step.queuedInBatch = batch;
    this.counters.dispatches += step.commands.length;
    step.replays++;
    if (flush) this.flush();
  }

  /**
   * Times each dispatch of a captured step on the GPU (timestamp queries; the adapter must have
   * 'timestamp-query'). The step runs once more, its hooks included.
   */
  async profile(step: CapturedStep): Promise<KernelTime[]> {
    this.check();
    if (step.disposed) throw new ShadergradError(null, `captured step '${step.label}' was disposed`);
    this.flush();
    for (const hook of step.hooks) hook();
    step.arena.upload(this.device.queue, true);
    const times = await profileCommands(this.device, step.commands);
    this.check();
    return times;
  }

  /** @internal */
  releaseCapture(step: CapturedStep): void {
    // Commands of a replay still waiting in this batch use its uniforms and buffers: submit them first.
    if (step.queuedInBatch === this.batch && this.pending.length && !this.capturing) this.flush();
    if (step.held) this.pool.unhold(step.buffers);
    for (const staging of step.uploads.splice(0)) this.pool.release(staging);
    step.held = false;
    this.pool.disposeScope(step.scope);
    step.arena.destroy();
    step.commands.length = 0;
    step.buffers.clear();
  }

  // ---- bookkeeping -----------------------------------------------------------------------------

  /** Destroys the pool's unused buffers (after submitting pending commands, which may still use them). */
  trim(): void {
    this.check();
    if (this.capturing) throw new ShadergradError(null, 'cannot trim the pool while a step is being captured');
    this.flush();
    this.pool.trim();
  }

  stats(): EngineStats {
    return {
      ...this.pool.stats(),
      liveTensors: this.liveTensors,
      pipelines: this.pipelines.size,
      bindGroupsCreated: this.counters.bindGroups,
      dispatches: this.counters.dispatches,
      submits: this.counters.submits,
      captures: this.counters.captures,
    };
  }

  /** Releases the GPU device and every buffer; the engine cannot be used afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.pending = [];
    this.destroyed = true;
    this.pool.destroy();
    this.arena.destroy();
    for (const list of this.readPool.values()) for (const b of list) b.destroy();
    this.readPool.clear();
    this.device.destroy();
  }

  private takeReadBuffer(size: number): GPUBuffer {
    return (
      this.readPool.get(size)?.pop() ??
      this.device.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: 'shadergrad:readback' })
    );
  }

  private giveReadBuffer(buffer: GPUBuffer, size: number): void {
    const list = this.readPool.get(size);
    if (list) {
      if (list.length < 4) list.push(buffer);
      else buffer.destroy();
    } else this.readPool.set(size, [buffer]);
  }
}

function forEachBuffer(command: Command, fn: (b: GpuBuffer) => void): void {
  if (command.kind === 'dispatch') for (const b of command.buffers) fn(b);
  else if (command.kind === 'copy') {
    fn(command.src);
    if (command.dst instanceof GpuBuffer) fn(command.dst);
  } else fn(command.dst);
}

/** Bytes as WebGPU binds and copies them: whole 4-byte words, at least one. */
function wholeWords(bytes: number): number {
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

function encodeCommands(encoder: GPUCommandEncoder, commands: readonly Command[], markers: boolean): void {
  let pass: GPUComputePassEncoder | null = null;
  let pipeline: GPUComputePipeline | null = null;
  for (const c of commands) {
    if (c.kind === 'dispatch') {
      if (!pass) {
        pass = encoder.beginComputePass({ label: 'shadergrad:kernels' });
        pipeline = null;
      }
      if (markers) pass.insertDebugMarker(c.kernel.name);
      if (c.pipeline !== pipeline) {
        pass.setPipeline(c.pipeline);
        pipeline = c.pipeline;
      }
      pass.setBindGroup(0, c.bindGroup);
      pass.dispatchWorkgroups(c.grid[0], c.grid[1], c.grid[2]);
      continue;
    }
    if (pass) {
      pass.end();
      pass = null;
    }
    if (c.kind === 'copy') {
      const dst = c.dst instanceof GpuBuffer ? c.dst.buffer : c.dst;
      encoder.copyBufferToBuffer(c.src.buffer, c.srcOffset, dst, c.dstOffset, c.size);
    } else {
      encoder.clearBuffer(c.dst.buffer, c.offset, c.size);
    }
  }
  pass?.end();
}

function toTypedArray(data: TensorData, dtype: DType): Float32Array | Int32Array {
  if (dtype === 'f32') {
    if (data instanceof Float32Array) return data;
    // Typed arrays hold numbers; a plain array may hold anything, which Float32Array.from would make NaN.
    if (!ArrayBuffer.isView(data)) {
      for (let i = 0; i < data.length; i++) {
        const v = (data as ArrayLike<unknown>)[i];
        if (typeof v !== 'number') throw new ShadergradError('tensor', `f32 data holds ${typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : typeof v} at index ${i}, not a number`);
      }
    }
    return Float32Array.from(data as ArrayLike<number>);
  }
  if (data instanceof Int32Array) return data;
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = (data as ArrayLike<number>)[i]!;
    if (!Number.isInteger(v)) throw new ShadergradError('tensor', `i32 data holds a non-integer ${v} at index ${i}`);
    if (v < -(2 ** 31) || v >= 2 ** 31) throw new ShadergradError('tensor', `i32 data holds ${v} at index ${i}, outside [-2^31, 2^31)`);
    out[i] = v;
  }
  return out;
}
