// Gzip detection and decompression for datasets: zlib in Node, DecompressionStream in the browser.

import { isNode, nodeBuiltin } from '../node-builtins';
import { concatChunks } from './bytes';
import { ShadergradError } from '../errors';

/** Gzip's magic bytes 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompresses gzip data; `op` names the caller in errors. Node inflates every member of a
 * multi-member file (`cat a.gz b.gz`); Chromium's DecompressionStream stops after the first and
 * refuses the rest, so in the browser such a file is refused with a message saying so (the
 * datasets' own files are single-member).
 */
export async function gunzip(bytes: Uint8Array, op: string): Promise<Uint8Array> {
  try {
    if (isNode) {
      const zlib = await nodeBuiltin<typeof import('node:zlib')>('node:zlib');
      const out = zlib.gunzipSync(bytes);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    if (typeof DecompressionStream === 'undefined') {
      throw new Error('this browser has no DecompressionStream; serve the files uncompressed');
    }
    return await inflateInSlices(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip')));
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    if (!isNode && /junk|trailing|after end/i.test(why)) {
      throw new ShadergradError(op, `gzip data of several members (or with bytes after its end) cannot be inflated in the browser; serve it as one member, or uncompressed (${why})`, { cause });
    }
    throw new ShadergradError(op, `the gzip data is corrupt or truncated (${why})`, { cause });
  }
}

/** Decompressed bytes between two yields to the event loop: a few milliseconds of inflating. */
const SLICE_BYTES = 2 << 20;

/**
 * Reads a DecompressionStream's output, letting the page's other tasks run every SLICE_BYTES: read
 * at once (`new Response(stream).arrayBuffer()`), in-memory data inflates in one task, ~200 ms for
 * Fashion-MNIST's 47 MB training images on a slow CPU, and the page stalls meanwhile.
 */
async function inflateInSlices(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let slice = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    slice += value.length;
    if (slice >= SLICE_BYTES) {
      slice = 0;
      await yieldToEventLoop();
    }
  }
  return concatChunks(chunks, size);
}

/** A new task (scheduler.yield where there is one; a message otherwise, which background tabs do not throttle as they do timers). */
function yieldToEventLoop(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (scheduler?.yield) return scheduler.yield();
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
