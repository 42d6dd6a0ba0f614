// Gzip detection and decompression for datasets: zlib in Node, DecompressionStream in the browser.

import { isNode } from '../engine/gpu';
import { nodeBuiltin } from '../node-builtins';

/** Gzip's magic bytes 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses gzip data (every member); `op` names the caller in errors. */
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
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`shadergrad: ${op}: the gzip data is corrupt or truncated (${why})`, { cause });
  }
}
