// Makes the shipped Fashion-MNIST sample (src/data/fashion-mnist-sample/) from the full dataset: the first images of each class, in their original order.
//
//   node src/data/make-sample.mjs [--from /usr/share/datasets/fashion-mnist] [--train-per-class 600] [--test-per-class 100]

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}
const from = option('from', '/usr/share/datasets/fashion-mnist');
const out = fileURLToPath(new URL('./fashion-mnist-sample/', import.meta.url));
const perClass = { train: Number(option('train-per-class', 600)), t10k: Number(option('test-per-class', 100)) };

/** Reads an IDX file (gz or not): { type, dims, body }. */
function readIdx(path) {
  let bytes = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) throw new Error(`make-sample: ${path} is not a u8 IDX file`);
  const rank = bytes[3];
  const dims = Array.from({ length: rank }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  return { dims, body: bytes.subarray(4 + 4 * rank) };
}

function idx(dims, body) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}

/** Writes through a temporary name, so a failed run leaves no half-written file. */
function writeAtomic(path, bytes) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

function findFile(name) {
  for (const candidate of [`${name}.gz`, name]) if (existsSync(join(from, candidate))) return join(from, candidate);
  throw new Error(`make-sample: neither ${name}.gz nor ${name} is in ${from}`);
}

mkdirSync(out, { recursive: true });
for (const split of ['train', 't10k']) {
  const images = readIdx(findFile(`${split}-images-idx3-ubyte`));
  const labels = readIdx(findFile(`${split}-labels-idx1-ubyte`));
  const [n, rows, cols] = images.dims;
  const pixels = rows * cols;
  const counts = new Array(10).fill(0);
  const picked = [];
  for (let i = 0; i < n; i++) {
    const label = labels.body[i];
    if (counts[label] < perClass[split]) {
      counts[label]++;
      picked.push(i);
    }
  }
  const imageBody = Buffer.alloc(picked.length * pixels);
  const labelBody = Buffer.alloc(picked.length);
  picked.forEach((src, dst) => {
    images.body.copy(imageBody, dst * pixels, src * pixels, (src + 1) * pixels);
    labelBody[dst] = labels.body[src];
  });
  const gz = (buffer) => gzipSync(buffer, { level: 9 });
  writeAtomic(join(out, `${split}-images-idx3-ubyte.gz`), gz(idx([picked.length, rows, cols], imageBody)));
  writeAtomic(join(out, `${split}-labels-idx1-ubyte.gz`), gz(idx([picked.length], labelBody)));
  console.log(`${split}: ${picked.length} images (per class ${counts.join(' ')}), the last from index ${picked.at(-1)} of ${n}`);
}
