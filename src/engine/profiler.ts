// Kernel profiler: GPU timestamps around each dispatch of a command list (where the adapter has timestamp-query).

import { BufferUsage } from './pool';
import type { Command } from './engine';
import { DeviceError, ShadergradError } from '../errors';

export interface KernelTime {
  kernel: string;
  ms: number;
}

const QUERY_RESOLVE_ALIGN = 256;

/**
 * Runs the dispatches of `commands` (copies and clears too, untimed), each dispatch in its own
 * compute pass with timestamps at its start and end, and returns each dispatch's GPU time.
 * Passes serialise the work, so the sum is an upper bound of a batched run's time.
 */
export async function profileCommands(device: GPUDevice, commands: readonly Command[]): Promise<KernelTime[]> {
  if (!device.features.has('timestamp-query')) {
    throw new ShadergradError('profile', "this adapter has no 'timestamp-query' feature");
  }
  const dispatches = commands.filter((c) => c.kind === 'dispatch');
  const count = dispatches.length * 2;
  if (!count) return [];
  const querySet = device.createQuerySet({ type: 'timestamp', count, label: 'shadergrad:profile' });
  const bytes = Math.ceil((count * 8) / QUERY_RESOLVE_ALIGN) * QUERY_RESOLVE_ALIGN;
  const resolve = device.createBuffer({ size: bytes, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC, label: 'shadergrad:profile' });
  const readback = device.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: 'shadergrad:profile' });
  const encoder = device.createCommandEncoder({ label: 'shadergrad:profile' });
  let q = 0;
  for (const c of commands) {
    if (c.kind === 'dispatch') {
      const pass = encoder.beginComputePass({
        label: `shadergrad:${c.kernel.name}`,
        timestampWrites: { querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 },
      });
      pass.setPipeline(c.pipeline);
      pass.setBindGroup(0, c.bindGroup);
      pass.dispatchWorkgroups(c.grid[0], c.grid[1], c.grid[2]);
      pass.end();
      q += 2;
    } else if (c.kind === 'copy') {
      encoder.copyBufferToBuffer(c.src.buffer, c.srcOffset, 'buffer' in c.dst ? c.dst.buffer : c.dst, c.dstOffset, c.size);
    } else {
      encoder.clearBuffer(c.dst.buffer, c.offset, c.size);
    }
  }
  encoder.resolveQuerySet(querySet, 0, count, resolve, 0);
  encoder.copyBufferToBuffer(resolve, 0, readback, 0, bytes);
  device.queue.submit([encoder.finish()]);
  let stamps: BigUint64Array;
  try {
    await readback.mapAsync(1 /* GPUMapMode.READ */);
    stamps = new BigUint64Array(readback.getMappedRange().slice(0));
    readback.unmap();
  } catch (cause) {
    throw new DeviceError('profile', 'reading the GPU timestamps back failed', { cause });
  } finally {
    [querySet, resolve, readback].forEach((o) => o.destroy());
  }
  return dispatches.map((c, i) => ({ kernel: c.kernel.name, ms: Number(stamps[2 * i + 1]! - stamps[2 * i]!) / 1e6 }));
}
