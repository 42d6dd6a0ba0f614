// Joining the chunks a stream reader returned (a download, an inflated gzip) into one array.

/** The chunks, in order, as one Uint8Array of `size` bytes (the single chunk itself when there is one). */
export function concatChunks(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
