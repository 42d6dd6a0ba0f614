// Checkpoint files in Node: written atomically (temporary name, fsync, rename) and read back.

import { isNode, nodeBuiltin } from '../node-builtins';
import { ShadergradError } from '../errors';

function requireNode(op: string): void {
  if (!isNode) throw new ShadergradError(op, `needs Node's file system (in the browser, offer the bytes as a download)`);
}

/**
 * Writes `bytes` to `path` so that a crash never leaves a half-written file there: the data goes to
 * `path.tmp-<pid>-<random>`, is fsync'ed, then renamed over `path` (the temporary file is removed if
 * anything fails).
 */
export async function writeCheckpointFile(path: string, bytes: Uint8Array): Promise<void> {
  const op = 'writeCheckpointFile';
  requireNode(op);
  if (!(bytes instanceof Uint8Array)) throw new ShadergradError(op, `bytes must be a Uint8Array`);
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
  const { dirname } = await nodeBuiltin<typeof import('node:path')>('node:path');
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let handle: import('node:fs/promises').FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx');
    let written = 0;
    while (written < bytes.length) written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, path);
  } catch (cause) {
    await handle?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw new ShadergradError(op, `writing ${path} failed (${(cause as Error).message})`, { cause });
  }
  // Make the rename itself durable where the platform allows syncing a directory.
  try {
    const dir = await fs.open(dirname(path), 'r');
    await dir.sync().finally(() => dir.close());
  } catch {
    // not supported here (Windows); the file itself is complete
  }
}

/** Reads a checkpoint file's bytes (decode them with loadCheckpoint or decodeSafetensors). */
export async function readCheckpointFile(path: string): Promise<Uint8Array> {
  const op = 'readCheckpointFile';
  requireNode(op);
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
  try {
    const buffer = await fs.readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (cause) {
    throw new ShadergradError(op, `reading ${path} failed (${(cause as Error).message})`, { cause });
  }
}
