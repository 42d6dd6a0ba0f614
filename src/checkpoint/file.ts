// Checkpoint files in Node: written atomically (temporary names, fsync, renames), alone or with the files that go with them, and read back.

import { isNode, nodeBuiltin } from '../node-builtins';
import { ShadergradError } from '../errors';

function requireNode(op: string): void {
  if (!isNode) throw new ShadergradError(op, `needs Node's file system (in the browser, offer the bytes as a download)`);
}

/** A file to write: its path and its bytes (a string is written as UTF-8). */
export type FileToWrite = [path: string, data: Uint8Array | string];

/**
 * Writes `bytes` to `path` so that a crash never leaves a half-written file there (writeFiles with
 * one file).
 */
export async function writeCheckpointFile(path: string, bytes: Uint8Array): Promise<void> {
  const op = 'writeCheckpointFile';
  if (!(bytes instanceof Uint8Array)) throw new ShadergradError(op, 'bytes must be a Uint8Array');
  await writeFilesAs(op, [[path, bytes]]);
}

/**
 * Writes files that belong together (a checkpoint and its history) so that none is left
 * half-written and none is replaced unless all were written: each goes to `name.tmp-<pid>-<random>`
 * beside it (the name cut to 32 characters, so a long one stays a valid file name) and is synced to
 * disk; only then, and when no directory stands where one goes, are they renamed
 * into place, and their directories synced. On a failure before the renames the temporary files are
 * removed and the paths hold what they held before (a rename itself failing part-way, on a disk
 * that fails then, would leave the earlier files renamed).
 */
export async function writeFiles(files: readonly FileToWrite[]): Promise<void> {
  const op = 'writeFiles';
  const ok = (f: unknown) => Array.isArray(f) && f.length === 2 && typeof f[0] === 'string' && f[0] !== '' && (f[1] instanceof Uint8Array || typeof f[1] === 'string');
  if (!Array.isArray(files) || !files.every(ok)) throw new ShadergradError(op, 'files must be a list of [path, bytes or text] pairs');
  await writeFilesAs(op, files);
}

async function writeFilesAs(op: string, files: readonly FileToWrite[]): Promise<void> {
  requireNode(op);
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
  const { basename, dirname, join, resolve } = await nodeBuiltin<typeof import('node:path')>('node:path');
  // Two writes to one path would leave whichever was renamed last: refused before anything is written.
  const seen = new Set<string>();
  for (const [path] of files) {
    if (seen.has(resolve(path))) throw new ShadergradError(op, `${path} is given twice`);
    seen.add(resolve(path));
  }
  const tmps = files.map(([path]) => {
    const head = Array.from(basename(path)).slice(0, 32).join('');
    return join(dirname(path), `${head}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  });
  let current = '';
  try {
    for (const [i, [path, data]] of files.entries()) {
      current = path;
      // Synced before the rename: after a crash the name holds the old file or the whole new one.
      const handle = await fs.open(tmps[i]!, 'wx');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    // A directory where a file goes would stop the renames half-way: checked for all of them first.
    for (const [path] of files) {
      current = path;
      if ((await fs.stat(path).catch(() => null))?.isDirectory()) throw Object.assign(new Error('a directory is in the way'), { code: 'EISDIR' });
    }
    for (const [i, [path]] of files.entries()) {
      current = path;
      await fs.rename(tmps[i]!, path);
    }
  } catch (cause) {
    await Promise.all(tmps.map((tmp) => fs.rm(tmp, { force: true }).catch(() => {})));
    const code = (cause as { code?: string }).code;
    // Node's messages start with their code ("EISDIR: illegal operation…"): said once.
    const text = (cause as Error).message.replace(/^[A-Z]+: /, '');
    throw new ShadergradError(op, `writing ${current} failed (${code ? `${code}: ` : ''}${text})`, { cause });
  }
  // Make the renames themselves durable where the platform allows syncing a directory.
  for (const dir of new Set(files.map(([path]) => dirname(path)))) {
    try {
      const handle = await fs.open(dir, 'r');
      await handle.sync().finally(() => handle.close());
    } catch {
      // not supported here (Windows); the files themselves are complete
    }
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
