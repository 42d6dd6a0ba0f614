// Datasets and checkpoints in Node: IDX parsing, Fashion-MNIST (Debian's full set and the shipped sample), the spiral, safetensors files.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, datasets, checkpoint } from '../../src/index';
import { encodeIdx, loadIdx, parseIdx, fashionMnist, loadFashionMnist, spiral, spiralData, FASHION_MNIST_CLASSES, DEBIAN_FASHION_MNIST_DIR } from '../../src/data/index';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadCheckpoint,
  readCheckpointFile,
  saveCheckpoint,
  writeCheckpointFile,
  writeFiles,
} from '../../src/checkpoint/index';
import { gatherRows } from '../../src/kernels/gather';
import type { Tensor } from '../../src/tensor';

const DEBIAN = DEBIAN_FASHION_MNIST_DIR;
const HAVE_DEBIAN = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].every((f) =>
  existsSync(join(DEBIAN, f)),
);
const NO_DEBIAN_REASON = `Debian's Fashion-MNIST is not installed in ${DEBIAN} (apt-get install dataset-fashion-mnist)`;
const SAMPLE = fileURLToPath(new URL('../../src/data/fashion-mnist-sample/', import.meta.url));

let engine: Engine;
let scratch: string;
beforeAll(async () => {
  engine = await Engine.create();
  scratch = mkdtempSync(join(tmpdir(), 'shadergrad-data-'));
});
afterAll(() => {
  engine?.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function dir(name: string): string {
  const path = join(scratch, name);
  mkdirSync(path, { recursive: true });
  return path;
}

/** Reads rows of a (N, D) tensor through gatherRows (the full 60000×784 set is never read back whole). */
async function rows(X: Tensor, indices: number[]): Promise<Float32Array> {
  const idx = engine.tensor(Int32Array.from(indices));
  const out = gatherRows(engine, X, idx);
  const data = (await out.read()) as Float32Array;
  idx.dispose();
  out.dispose();
  return data;
}

function expectRowsMatch(got: Float32Array, images: Uint8Array, indices: number[], cols: number): void {
  indices.forEach((r, i) => {
    for (let c = 0; c < cols; c++) {
      const want = Math.fround(images[r * cols + c]! * (1 / 255));
      const g = got[i * cols + c]!;
      if (Math.abs(g - want) > 1e-6) throw new Error(`row ${r} col ${c}: got ${g}, expected ${want} (byte ${images[r * cols + c]})`);
    }
  });
}

function classCounts(labels: ArrayLike<number>): number[] {
  const counts = new Array(10).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]++;
  return counts;
}

describe('data: loadIdx', () => {
  it('parses the real label and image files, gz and not gz alike', async () => {
    const gz = readFileSync(join(SAMPLE, 't10k-labels-idx1-ubyte.gz'));
    const labels = await loadIdx(gz);
    expect(labels.dtype).toBe('u8');
    expect(labels.shape).toEqual([1000]);
    const raw = await loadIdx(gunzipSync(gz));
    expect(Array.from(raw.data)).toEqual(Array.from(labels.data));
    // An ArrayBuffer works too.
    const plain = gunzipSync(gz);
    const ab = plain.buffer.slice(plain.byteOffset, plain.byteOffset + plain.byteLength);
    expect((await loadIdx(ab)).shape).toEqual([1000]);
    const images = await loadIdx(readFileSync(join(SAMPLE, 't10k-images-idx3-ubyte.gz')));
    expect(images.dtype).toBe('u8');
    expect(images.shape).toEqual([1000, 28, 28]);
    expect(images.data.length).toBe(1000 * 784);
  });

  it.skipIf(!HAVE_DEBIAN)(`parses Debian's full files (${HAVE_DEBIAN ? 'present' : 'skipped: ' + NO_DEBIAN_REASON})`, async () => {
    const labels = await loadIdx(readFileSync(join(DEBIAN, 'train-labels-idx1-ubyte.gz')));
    expect(labels.shape).toEqual([60000]);
    expect(classCounts(labels.data)).toEqual(new Array(10).fill(6000));
    const images = await loadIdx(readFileSync(join(DEBIAN, 't10k-images-idx3-ubyte.gz')));
    expect(images.shape).toEqual([10000, 28, 28]);
    // The sample's first test image is the full set's first test image.
    const sample = await loadIdx(readFileSync(join(SAMPLE, 't10k-images-idx3-ubyte.gz')));
    expect(Array.from(sample.data.subarray(0, 784))).toEqual(Array.from(images.data.subarray(0, 784)));
  });

  it('reads every IDX type big-endian, from hand-built bytes', () => {
    const header = (type: number, dims: number[]) => [0, 0, type, dims.length, ...dims.flatMap((d) => [d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255])];
    const i16 = parseIdx(new Uint8Array([...header(0x0b, [2]), 0x01, 0x02, 0xff, 0xfe]));
    expect(i16.dtype).toBe('i16');
    expect(Array.from(i16.data)).toEqual([258, -2]);
    const i32 = parseIdx(new Uint8Array([...header(0x0c, [1, 2]), 0xff, 0xff, 0xff, 0xfe, 0x00, 0x01, 0x00, 0x00]));
    expect(i32.shape).toEqual([1, 2]);
    expect(Array.from(i32.data)).toEqual([-2, 65536]);
    const f32 = parseIdx(new Uint8Array([...header(0x0d, [1]), 0x3f, 0xc0, 0x00, 0x00]));
    expect(Array.from(f32.data)).toEqual([1.5]);
    const f64 = parseIdx(new Uint8Array([...header(0x0e, [1]), 0xc0, 0x04, 0, 0, 0, 0, 0, 0]));
    expect(Array.from(f64.data)).toEqual([-2.5]);
    const i8 = parseIdx(new Uint8Array([...header(0x09, [3]), 0x7f, 0x80, 0xff]));
    expect(Array.from(i8.data)).toEqual([127, -128, -1]);
    const scalarless = parseIdx(new Uint8Array([...header(0x08, [0, 5])]));
    expect(scalarless.shape).toEqual([0, 5]);
    expect(scalarless.data.length).toBe(0);
    for (const [dtype, values] of [
      ['u8', [0, 255, 7]],
      ['i8', [-128, 127, 0]],
      ['i16', [-32768, 32767, 1]],
      ['i32', [-(2 ** 31), 2 ** 31 - 1, 5]],
      ['f32', [1.5, -0.25, 3e38]],
      ['f64', [Math.PI, -1e300, 0]],
    ] as const) {
      const back = parseIdx(encodeIdx(dtype, [3], values));
      expect(back.dtype).toBe(dtype);
      expect(Array.from(back.data)).toEqual(dtype === 'f32' ? values.map(Math.fround) : values);
    }
  });

  it('refuses bad input with clear errors', async () => {
    const good = encodeIdx('u8', [2, 3], [1, 2, 3, 4, 5, 6]);
    await expect(loadIdx(new Uint8Array([1, 0, 8, 1, 0, 0, 0, 0]))).rejects.toThrow(/^shadergrad: loadIdx: bad magic.*01 00 08 01/);
    await expect(loadIdx(new Uint8Array([0, 1, 8, 1, 0, 0, 0, 0]))).rejects.toThrow(/^shadergrad: loadIdx: bad magic.*00 01 08 01/);
    // 1f alone is not gzip's magic (1f 8b): such a file is not inflated, it is an IDX file with a bad magic.
    await expect(loadIdx(new Uint8Array([0x1f, 0, 8, 1, 0, 0, 0, 0]))).rejects.toThrow(/^shadergrad: loadIdx: bad magic.*1f 00 08 01/);
    await expect(loadIdx(new Uint8Array([0, 0, 0x0a, 1, 0, 0, 0, 0]))).rejects.toThrow(/loadIdx: unknown type byte 0x0a/);
    await expect(loadIdx(new Uint8Array([0, 0]))).rejects.toThrow(/loadIdx: 2 bytes is too short/);
    await expect(loadIdx(good.subarray(0, 9))).rejects.toThrow(/loadIdx: truncated header: rank 2 needs 12/);
    await expect(loadIdx(good.subarray(0, good.length - 1))).rejects.toThrow(/loadIdx: truncated data: shape \[2, 3\] of u8 needs 6 bytes .* found 5/);
    await expect(loadIdx(new Uint8Array([...good, 9]))).rejects.toThrow(/loadIdx: the dimensions \[2, 3\] of u8 \(6 bytes\) do not match the 7 data bytes/);
    const gz = gzipSync(good);
    await expect(loadIdx(gz.subarray(0, gz.length - 6))).rejects.toThrow(/loadIdx: the gzip data is corrupt or truncated/);
    await expect(loadIdx([1, 2, 3] as unknown as Uint8Array)).rejects.toThrow(/loadIdx: expected a Uint8Array or an ArrayBuffer/);
    expect(Array.from((await loadIdx(gz)).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('data: fashionMnist', () => {
  it.skipIf(!HAVE_DEBIAN)(`loads Debian's full set by default: 60000 + 10000, X packed as 8-bit (${HAVE_DEBIAN ? 'present' : 'skipped: ' + NO_DEBIAN_REASON})`, async () => {
    const train = await fashionMnist(engine, { split: 'train' });
    try {
      expect(train.source).toBe(DEBIAN.replace(/\/$/, ''));
      expect(train.count).toBe(60000);
      expect(train.X.shape).toEqual([60000, 784]);
      expect(train.X.dtype).toBe('f32');
      expect(train.X.format).toBe('unorm8');
      expect(train.X.byteLength).toBe(60000 * 784); // 47 MB, not 188
      expect(train.y.shape).toEqual([60000]);
      expect(train.y.dtype).toBe('i32');
      expect(train.labels.every((l) => l >= 0 && l < 10)).toBe(true);
      expect(classCounts(train.labels)).toEqual(new Array(10).fill(6000));
      const host = await loadFashionMnist({ split: 'train' });
      const picks = [0, 1, 12345, 59999];
      expectRowsMatch(await rows(train.X, picks), host.images, picks, 784);
      const y = (await train.y.read()) as Int32Array;
      expect(Array.from(y.subarray(0, 100))).toEqual(Array.from(host.labels.subarray(0, 100)));
      expect(y[59999]).toBe(host.labels[59999]);
    } finally {
      train.X.dispose();
      train.y.dispose();
    }
    const test = await fashionMnist(engine, { split: 'test', source: DEBIAN });
    expect(test.count).toBe(10000);
    expect(test.X.shape).toEqual([10000, 784]);
    expect(classCounts(test.labels)).toEqual(new Array(10).fill(1000));
    test.X.dispose();
    test.y.dispose();
  });

  it('the shipped sample: 6000 + 1000 real images, class-balanced, X reads back as bytes / 255', async () => {
    for (const [split, n] of [['train', 6000], ['test', 1000]] as const) {
      const host = await loadFashionMnist({ split, source: 'sample' });
      expect(host.count).toBe(n);
      expect(host.rows * host.cols).toBe(784);
      expect(classCounts(host.labels)).toEqual(new Array(10).fill(n / 10));
      const data = await fashionMnist(engine, { split, source: 'sample' });
      expect(data.source).toMatch(/sample/);
      expect(data.X.shape).toEqual([n, 784]);
      expect(data.X.format).toBe('unorm8');
      expect(Array.from((await data.y.read()) as Int32Array)).toEqual(Array.from(host.labels));
      if (split === 'test') {
        // The whole set read back, and rows gathered on the GPU.
        const all = (await data.X.read()) as Float32Array;
        expectRowsMatch(all, host.images, Array.from({ length: n }, (_, i) => i), 784);
      }
      const picks = [0, 7, n - 1, 3];
      expectRowsMatch(await rows(data.X, picks), host.images, picks, 784);
      const idx = engine.tensor(Int32Array.from(picks));
      const labels = gatherRows(engine, data.y, idx);
      expect(Array.from((await labels.read()) as Int32Array)).toEqual(picks.map((p) => host.labels[p]));
      for (const t of [idx, labels, data.X, data.y]) t.dispose();
    }
    expect(FASHION_MNIST_CLASSES).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    expect(datasets.FASHION_MNIST_CLASSES).toBe(FASHION_MNIST_CLASSES);
  });

  it('limit keeps the first examples; a directory of uncompressed files or a file: URL works as source', async () => {
    const full = await loadFashionMnist({ split: 'test', source: 'sample' });
    const raw = dir('raw');
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      writeFileSync(join(raw, f), gunzipSync(readFileSync(join(SAMPLE, `${f}.gz`))));
    }
    const fromRaw = await loadFashionMnist({ split: 'test', source: raw, limit: 25 });
    expect(fromRaw.count).toBe(25);
    expect(fromRaw.source).toBe(raw);
    expect(Array.from(fromRaw.labels)).toEqual(Array.from(full.labels.subarray(0, 25)));
    expect(Array.from(fromRaw.images)).toEqual(Array.from(full.images.subarray(0, 25 * 784)));
    const limited = await loadFashionMnist({ split: 'test', source: SAMPLE, limit: 10 });
    expect(limited.images.buffer.byteLength, 'a limited split does not keep the whole file alive').toBe(10 * 784);
    const fromUrl = await loadFashionMnist({ split: 'test', source: pathToFileURL(SAMPLE).href, limit: 5000 });
    expect(fromUrl.count).toBe(1000); // limit past the end keeps everything
    const gpu = await fashionMnist(engine, { split: 'test', source: new URL(pathToFileURL(SAMPLE).href), limit: 3 });
    expect(gpu.X.shape).toEqual([3, 784]);
    expect(Array.from(gpu.labels)).toEqual(Array.from(full.labels.subarray(0, 3)));
    gpu.X.dispose();
    gpu.y.dispose();
  });

  it('from an HTTP server that answers a missing .gz with its index page (a single-page app server), the plain files load', async () => {
    const { createServer } = await import('node:http');
    const plain = dir('plain-http');
    for (const name of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) writeFileSync(join(plain, name), gunzipSync(readFileSync(join(SAMPLE, `${name}.gz`))));
    const server = createServer((req, res) => {
      const name = (req.url ?? '').split('/').pop() ?? '';
      if (name && !name.endsWith('.gz') && existsSync(join(plain, name))) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(join(plain, name)));
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const test = await loadFashionMnist({ split: 'test', source: `http://127.0.0.1:${port}/data/` });
      expect(test.count).toBe(1000);
      await expect(loadFashionMnist({ split: 'train', source: `http://127.0.0.1:${port}/data/` })).rejects.toThrow(/neither train-images-idx3-ubyte.gz nor train-images-idx3-ubyte is in/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses bad options and bad files with clear errors', async () => {
    const empty = dir('empty');
    await expect(fashionMnist(engine, { split: 'test', source: empty })).rejects.toThrow(
      /^shadergrad: fashionMnist: neither t10k-images-idx3-ubyte.gz nor t10k-images-idx3-ubyte is in .*empty/,
    );
    await expect(fashionMnist(engine, { split: 'val' as 'test' })).rejects.toThrow(/fashionMnist: split must be 'train' or 'test', got val/);
    await expect(fashionMnist(engine, { split: 'train', limt: 10 } as never)).rejects.toThrow(/fashionMnist: unrecognized option limt; known: split, limit, source, onProgress/);
    await expect(fashionMnist(engine, null as never)).rejects.toThrow(/fashionMnist: options must be an object, got null/);
    await expect(loadFashionMnist({ split: 'train', limit: 0 })).rejects.toThrow(/loadFashionMnist: limit must be a positive integer, got 0/);
    await expect(loadFashionMnist({ split: 'test', source: 'sample', limit: 2.5 })).rejects.toThrow(/loadFashionMnist: limit must be a positive integer, got 2.5/);
    const bad = dir('bad');
    writeFileSync(join(bad, 't10k-images-idx3-ubyte'), encodeIdx('u8', [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]));
    writeFileSync(join(bad, 't10k-labels-idx1-ubyte'), encodeIdx('u8', [2], [3, 10]));
    await expect(loadFashionMnist({ split: 'test', source: bad })).rejects.toThrow(/label 10 at index 1 is outside \[0, 10\)/);
    writeFileSync(join(bad, 't10k-labels-idx1-ubyte'), encodeIdx('u8', [3], [1, 2, 3]));
    await expect(loadFashionMnist({ split: 'test', source: bad })).rejects.toThrow(/2 images but 3 labels/);
    // Images must be (N, rows, cols) and labels (N): a matching first dimension is not enough.
    writeFileSync(join(bad, 't10k-labels-idx1-ubyte'), encodeIdx('u8', [2, 1], [1, 2]));
    await expect(loadFashionMnist({ split: 'test', source: bad })).rejects.toThrow(/t10k-labels-idx1-ubyte holds u8 \[2, 1\], expected u8 \(N\)/);
    writeFileSync(join(bad, 't10k-labels-idx1-ubyte'), encodeIdx('u8', [2], [1, 2]));
    writeFileSync(join(bad, 't10k-images-idx3-ubyte'), encodeIdx('u8', [2, 4], [0, 1, 2, 3, 4, 5, 6, 7]));
    await expect(loadFashionMnist({ split: 'test', source: bad })).rejects.toThrow(/t10k-images-idx3-ubyte holds u8 \[2, 4\], expected u8 \(N, rows, cols\)/);
    writeFileSync(join(bad, 't10k-images-idx3-ubyte'), encodeIdx('u8', [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]));
    writeFileSync(join(bad, 't10k-labels-idx1-ubyte.gz'), Buffer.from('not gzip'));
    await expect(loadFashionMnist({ split: 'test', source: bad })).rejects.toThrow(/t10k-labels-idx1-ubyte.gz in .*bad: loadIdx: bad magic/);
    writeFileSync(join(bad, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx('i32', [2], [1, 2])));
    await expect(loadFashionMnist({ split: 'test', source: bad })).rejects.toThrow(/t10k-labels-idx1-ubyte holds i32 \[2\], expected u8/);
  });
});

describe('data: spiral', () => {
  it("is the course's spiral: shapes, labels by class, radius = linspace(0, 1, n), angle noise", async () => {
    const n = 100;
    const { X, y } = spiralData({ n, classes: 3, seed: 7 });
    expect(X.length).toBe(600);
    expect(Array.from(y)).toEqual([...new Array(100).fill(0), ...new Array(100).fill(1), ...new Array(100).fill(2)]);
    for (let row = 0; row < 300; row++) {
      const r = Math.hypot(X[2 * row]!, X[2 * row + 1]!);
      expect(r).toBeCloseTo((row % n) / (n - 1), 6);
    }
    // Without noise the angle is linspace(4j, 4(j + 1), n) exactly.
    const clean = spiralData({ n: 5, classes: 2, seed: 1, noise: 0 });
    const angles = [0, 1, 2, 3, 4].map((i) => 4 + i);
    angles.forEach((t, i) => {
      const r = i / 4;
      expect(clean.X[2 * (5 + i)]).toBeCloseTo(r * Math.sin(t), 6);
      expect(clean.X[2 * (5 + i) + 1]).toBeCloseTo(r * Math.cos(t), 6);
    });
    // Noise has standard deviation ≈ 0.2 in the angle.
    const big = spiralData({ n: 2000, classes: 1, seed: 3 });
    let sum = 0;
    let sq = 0;
    let count = 0;
    for (let i = 1; i < 2000; i++) {
      const t = 4 * (i / 1999);
      let d = Math.atan2(big.X[2 * i]!, big.X[2 * i + 1]!) - t;
      d = Math.atan2(Math.sin(d), Math.cos(d));
      sum += d;
      sq += d * d;
      count++;
    }
    const std = Math.sqrt(sq / count - (sum / count) ** 2);
    expect(std).toBeGreaterThan(0.18);
    expect(std).toBeLessThan(0.22);
    expect(spiralData({ n: 1, classes: 2, seed: 1 }).X.every((v) => v === 0)).toBe(true);
  });

  it('refuses seeds and noise that would alias or poison the data; encodeIdx refuses values that would wrap', () => {
    expect(() => spiralData({ seed: 1.9 })).toThrow(/spiral: seed must be an integer in \[0, 2\^32\), got 1.9/);
    expect(() => spiralData({ seed: -1 })).toThrow(/seed must be an integer/);
    expect(() => spiralData({ noise: Infinity })).toThrow(/noise must be a finite number ≥ 0, got Infinity/);
    expect(spiralData(null as never).X.length).toBe(600);
    expect(() => encodeIdx('u8', [2], [256, 1])).toThrow(/encodeIdx: 256 at index 0 is not a u8 value/);
    expect(() => encodeIdx('toString' as never, [1], [1])).toThrow(/encodeIdx: unknown dtype toString/);
  });

  it('is deterministic by seed, and uploads X (N, 2) f32 and y (N) i32', async () => {
    const a = spiralData({ seed: 42 });
    expect(Array.from(spiralData({ seed: 42 }).X)).toEqual(Array.from(a.X));
    expect(Array.from(spiralData({ seed: 43 }).X)).not.toEqual(Array.from(a.X));
    const gpu = spiral(engine, { seed: 42 });
    expect(gpu.X.shape).toEqual([300, 2]);
    expect(gpu.X.dtype).toBe('f32');
    expect(gpu.y.shape).toEqual([300]);
    expect(gpu.y.dtype).toBe('i32');
    expect(Array.from(await gpu.X.read())).toEqual(Array.from(a.X));
    expect(Array.from(await gpu.y.read())).toEqual(Array.from(a.y));
    gpu.X.dispose();
    gpu.y.dispose();
    const four = spiral(engine, { n: 10, classes: 4, seed: 1 });
    expect(four.X.shape).toEqual([40, 2]);
    expect(Math.max(...((await four.y.read()) as Int32Array))).toBe(3);
    four.X.dispose();
    four.y.dispose();
    expect(() => spiralData({ n: 0 })).toThrow(/spiral: n must be a positive integer, got 0/);
    expect(() => spiralData({ classes: 1.5 })).toThrow(/spiral: classes must be a positive integer/);
    expect(() => spiralData({ noise: -1 })).toThrow(/spiral: noise must be a finite number ≥ 0/);
    expect(() => spiralData({ points: 5 } as never)).toThrow(/spiral: unrecognized option points; known: n, classes, seed, noise/);
    expect(() => spiralData(5 as never)).toThrow(/spiral: options must be an object, got 5/);
    expect(() => spiralData({ seed: 1.5 })).toThrow(/spiral: seed must be an integer in \[0, 2\^32\), got 1.5/);
  });
});

/** The bytes of a string, and the 8-byte little-endian length before it. */
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const u64le = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24, 0, 0, 0, 0];

describe('data: safetensors checkpoints', () => {
  it("matches the reference implementation's bytes (its own test vector, and a hand-built file with metadata)", () => {
    // huggingface/safetensors' test_serialization: save({"test": np.zeros((2, 2), np.int32)}), header padded to 64 bytes.
    const json = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
    const reference = new Uint8Array([...u64le(64), ...ascii(json), ...ascii('    '), ...new Array(16).fill(0)]);
    expect(json.length).toBe(60);
    expect(Array.from(encodeSafetensors({ test: { data: new Int32Array(4), shape: [2, 2] } }))).toEqual(Array.from(reference));
    const decoded = decodeSafetensors(reference);
    expect(decoded.tensors.test).toEqual({ dtype: 'I32', shape: [2, 2], data: new Int32Array(4) });
    expect(decoded.metadata).toEqual({});

    // F32 before I32, then by name; __metadata__ first; data little-endian; header padded with spaces to 8.
    const header =
      '{"__metadata__":{"epoch":"3"},' +
      '"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},' +
      '"c":{"dtype":"F32","shape":[],"data_offsets":[8,12]},' +
      '"b":{"dtype":"I32","shape":[2],"data_offsets":[12,20]},' +
      '"e":{"dtype":"I32","shape":[0,3],"data_offsets":[20,20]}}';
    expect(header.length).toBe(250);
    const file = new Uint8Array([
      ...u64le(256),
      ...ascii(header),
      0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
      0x00, 0x00, 0xc0, 0x3f, // a[0] = 1.5
      0x00, 0x00, 0x00, 0xc0, // a[1] = -2
      0x00, 0x00, 0x80, 0x3e, // c = 0.25
      0x07, 0x00, 0x00, 0x00, // b[0] = 7
      0xff, 0xff, 0xff, 0xff, // b[1] = -1
    ]);
    const encoded = encodeSafetensors(
      {
        e: { data: new Int32Array(0), shape: [0, 3] },
        b: new Int32Array([7, -1]),
        c: { data: new Float32Array([0.25]), shape: [] },
        a: { data: new Float32Array([1.5, -2]), shape: [2, 1] },
      },
      { epoch: '3' },
    );
    expect(Array.from(encoded)).toEqual(Array.from(file));
    const back = decodeSafetensors(file.buffer);
    expect(back.metadata).toEqual({ epoch: '3' });
    expect(back.tensors.a).toEqual({ dtype: 'F32', shape: [2, 1], data: new Float32Array([1.5, -2]) });
    expect(back.tensors.b).toEqual({ dtype: 'I32', shape: [2], data: new Int32Array([7, -1]) });
    expect(back.tensors.c).toEqual({ dtype: 'F32', shape: [], data: new Float32Array([0.25]) });
    expect(back.tensors.e).toEqual({ dtype: 'I32', shape: [0, 3], data: new Int32Array(0) });
    // Names are data: "__proto__" and integer-like names stay ordinary tensors, in the reference order.
    const odd = encodeSafetensors({ ['__proto__']: new Int32Array([1]), '10': new Int32Array([2]), '9': new Int32Array([3]) });
    const oddJson = new TextDecoder().decode(odd.subarray(8, 8 + new DataView(odd.buffer).getUint32(0, true))).trimEnd();
    expect(oddJson).toBe(
      '{"10":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"9":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},' +
        '"__proto__":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}',
    );
    const oddBack = decodeSafetensors(odd).tensors;
    expect(Object.keys(oddBack).sort()).toEqual(['10', '9', '__proto__']);
    expect(Object.getPrototypeOf(oddBack)).toBe(Object.prototype);
    expect(Array.from(Object.getOwnPropertyDescriptor(oddBack, '__proto__')!.value.data)).toEqual([1]);
    // Other dtypes are read as raw bytes (a PyTorch file's I64 counters, say).
    const i64 = '{"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}';
    const other = decodeSafetensors(new Uint8Array([...u64le(i64.length), ...ascii(i64), 5, 0, 0, 0, 0, 0, 0, 0]));
    expect(other.tensors.n).toEqual({ dtype: 'I64', shape: [1], data: new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]) });
  });

  it('round-trips f32 and i32 GPU tensors (1 element, empty, slab views) with metadata', async () => {
    const W1 = engine.tensor(Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 3), [3, 4]);
    const b1 = engine.tensor([1e-8], [1]);
    const counts = engine.tensor(new Int32Array([3, -7, 2147483647]), [3]);
    const empty = engine.zeros([0, 5]);
    const metadata = { epoch: '4', config: JSON.stringify({ hidden: [100], lr: 1e-3 }), unicode: 'π ≈ 3.14' };
    const bytes = await saveCheckpoint(engine, { W1, b1, counts, empty }, metadata);
    expect(bytes.length % 4).toBe(0);
    const headerLength = new DataView(bytes.buffer).getUint32(0, true);
    expect(headerLength % 8).toBe(0);
    const decoded = decodeSafetensors(bytes);
    expect(decoded.metadata).toEqual(metadata);
    expect(Object.keys(decoded.tensors).sort()).toEqual(['W1', 'b1', 'counts', 'empty']);
    expect(decoded.tensors.counts).toEqual({ dtype: 'I32', shape: [3], data: new Int32Array([3, -7, 2147483647]) });

    // Into other tensors, two of them views in a slab (byte offsets).
    const { flat, views } = engine.slab({ W1: [3, 4], b1: [1] });
    const targets = { W1: views.W1!, b1: views.b1!, counts: engine.zeros([3], 'i32'), empty: engine.zeros([0, 5]) };
    const loaded = loadCheckpoint(engine, bytes, targets);
    expect(loaded.metadata).toEqual(metadata);
    expect(loaded.tensors.W1).toBe(targets.W1);
    expect(Array.from(await targets.W1.read())).toEqual(Array.from(await W1.read()));
    expect(Array.from(await targets.b1.read())).toEqual([Math.fround(1e-8)]);
    expect(Array.from(await targets.counts.read())).toEqual([3, -7, 2147483647]);
    // Without targets: new tensors.
    const fresh = loadCheckpoint(engine, bytes);
    expect(fresh.tensors.W1!.shape).toEqual([3, 4]);
    expect(fresh.tensors.counts!.dtype).toBe('i32');
    expect(fresh.tensors.empty!.shape).toEqual([0, 5]);
    expect(Array.from(await fresh.tensors.W1!.read())).toEqual(Array.from(await W1.read()));
    for (const t of [...Object.values(fresh.tensors), ...Object.values(targets), flat, W1, b1, counts, empty]) t.dispose();
    expect(checkpoint.encodeSafetensors).toBe(encodeSafetensors);
  });

  it('refuses corrupt or mismatched files with clear errors, and changes nothing', async () => {
    const W = engine.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const y = engine.tensor(new Int32Array([9, 8]));
    const good = encodeSafetensors({ W: { data: new Float32Array([6, 5, 4, 3, 2, 1]), shape: [2, 3] }, y: new Int32Array([1, 2]) }, { epoch: '1' });
    const text = new TextDecoder().decode(good.subarray(8, 8 + new DataView(good.buffer).getUint32(0, true)));
    const withHeader = (json: string, data = good.subarray(8 + text.length)) => {
      const h = new TextEncoder().encode(json);
      return new Uint8Array([...u64le(h.length), ...h, ...data]);
    };
    const expectRefused = (bytes: Uint8Array, pattern: RegExp) => {
      expect(() => decodeSafetensors(bytes)).toThrow(pattern);
      expect(() => loadCheckpoint(engine, bytes, { W, y })).toThrow(pattern);
    };
    expectRefused(good.subarray(0, 5), /file is 5 bytes, too short/);
    const hugeLength = good.slice();
    hugeLength[4] = 1;
    expectRefused(hugeLength, /header length \d+ runs past the end of the \d+-byte file/);
    expectRefused(good.subarray(0, 8 + text.length - 4), /header length \d+ runs past the end/);
    expectRefused(withHeader(text.replace('{', '[')), /does not start with "\{"/);
    expectRefused(withHeader(text.replace('"dtype"', '"dtype')), /header is not valid JSON/);
    expectRefused(new Uint8Array([...u64le(4), 0x7b, 0xff, 0xfe, 0x7d]), /header is not valid UTF-8/);
    expectRefused(withHeader(text.replace('[0,24]', '[0,28]')), /W: F32 \[2, 3\] takes 24 bytes, data_offsets \[0, 28\] hold 28/);
    expectRefused(withHeader(text.replace('[24,32]', '[24,40]').replace('"shape":[2]', '"shape":[4]')), /y: data_offsets \[24, 40\] run past the 32 data bytes/);
    expectRefused(withHeader(text.replace('[24,32]', '[20,28]')), /data_offsets \[20, 28\] overlap W \[0, 24\]/);
    expectRefused(withHeader(text.replace('[0,24]', '[4,28]').replace('[24,32]', '[28,36]'), new Uint8Array(36)), /leave bytes 0–4 unused/);
    expectRefused(withHeader(text, new Uint8Array(40)), /the tensors cover 32 data bytes but the file holds 40/);
    expectRefused(withHeader(text.replace('"I32"', '"Q32"')), /y: unknown dtype "Q32"/);
    expectRefused(withHeader(text.replace('"shape":[2]', '"shape":[-2]')), /y: shape must be a list of non-negative integers/);
    expectRefused(withHeader(text.replace('[24,32]', '[32,24]')), /data_offsets must be \[begin, end\] with 0 ≤ begin ≤ end/);
    expectRefused(withHeader(text.replace('"epoch":"1"', '"epoch":1')), /__metadata__.epoch must be a string/);
    // Mismatches with the targets, each naming the tensor.
    const asF32 = encodeSafetensors({ W: { data: new Float32Array(6), shape: [2, 3] }, y: new Float32Array(2) });
    expect(() => loadCheckpoint(engine, asF32, { W, y })).toThrow(/does not match, nothing was loaded: y: F32 in the file, i32 in the target/);
    const wrongShape = encodeSafetensors({ W: { data: new Float32Array(6), shape: [3, 2] }, y: new Int32Array(2) });
    expect(() => loadCheckpoint(engine, wrongShape, { W, y })).toThrow(/W: shape \[3, 2\] in the file, \[2, 3\] in the target/);
    const missing = encodeSafetensors({ W: { data: new Float32Array(6), shape: [2, 3] } });
    expect(() => loadCheckpoint(engine, missing, { W, y })).toThrow(/y: missing from the file/);
    const extra = encodeSafetensors({ W: { data: new Float32Array(6), shape: [2, 3] }, y: new Int32Array(2), z: new Int32Array(1) });
    expect(() => loadCheckpoint(engine, extra, { W, y })).toThrow(/z: in the file but not among the tensors to load into/);
    const bf16 = '{"W":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}';
    expect(() => loadCheckpoint(engine, new Uint8Array([...u64le(bf16.length), ...ascii(bf16), 0, 0]))).toThrow(/W: BF16 tensors cannot be loaded/);
    // Nothing was written by any of those.
    expect(Array.from(await W.read())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await y.read())).toEqual([9, 8]);
    // Non-strict: loads the names both have, reports the rest.
    const partial = loadCheckpoint(engine, extra, { W, y, q: engine.zeros([1]) }, { strict: false });
    expect(partial.missing).toEqual(['q']);
    expect(partial.unexpected).toEqual(['z']);
    expect(Object.keys(partial.tensors).sort()).toEqual(['W', 'y']);
    expect(Array.from(await W.read())).toEqual([0, 0, 0, 0, 0, 0]);
    // Encoder input errors.
    expect(() => encodeSafetensors({ a: { data: new Float32Array(3), shape: [2, 2] } })).toThrow(/encodeSafetensors: a: 3 values do not fill shape \[2, 2\]/);
    expect(() => encodeSafetensors({ a: { data: [1, 2] as unknown as Float32Array, shape: [2] } })).toThrow(/a: data must be a Float32Array or an Int32Array/);
    expect(() => encodeSafetensors({ __metadata__: new Float32Array(1) })).toThrow(/'__metadata__' is reserved/);
    expect(() => encodeSafetensors({}, { n: 1 as unknown as string })).toThrow(/__metadata__.n must be a string/);
    const gone = engine.tensor([1]);
    gone.dispose();
    await expect(saveCheckpoint(engine, { gone })).rejects.toThrow(/saveCheckpoint: gone \(shape \[1\]\) was disposed/);
    W.dispose();
    y.dispose();
  });

  it("decodes every dtype at its size (BOOL, U8, I8, F8 1 byte; I16, U16, F16, BF16 2; I32, U32, F32 4; F64, I64, U64 8), raw bytes for the non-F32/I32 ones", () => {
    const sizes = { BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8 } as const;
    for (const [dtype, size] of Object.entries(sizes)) {
      const data = Array.from({ length: 3 * size }, (_, i) => i + 1);
      const file = (json: string) => {
        const h = new TextEncoder().encode(json);
        return new Uint8Array([...u64le(h.length), ...h, ...data]);
      };
      const decoded = decodeSafetensors(file(`{"t":{"dtype":"${dtype}","shape":[3],"data_offsets":[0,${3 * size}]}}`)).tensors.t!;
      expect(decoded.dtype).toBe(dtype);
      expect(decoded.shape).toEqual([3]);
      if (dtype !== 'F32' && dtype !== 'I32') expect(Array.from(decoded.data as Uint8Array), dtype).toEqual(data);
      else expect(decoded.data.length).toBe(3);
      // One element fewer than the bytes hold: refused by the size of the dtype.
      expect(() => decodeSafetensors(file(`{"t":{"dtype":"${dtype}","shape":[2],"data_offsets":[0,${3 * size}]}}`)), dtype).toThrow(
        new RegExp(`t: ${dtype} \\[2\\] takes ${2 * size} bytes, data_offsets \\[0, ${3 * size}\\] hold ${3 * size}`),
      );
    }
  });

  it('edge cases: a Map is refused (not saved as nothing), "__proto__" is a name like any other, a non-strict load skips tensors it cannot load', async () => {
    const W = engine.tensor([1, 2, 3]);
    await expect(saveCheckpoint(engine, new Map([['W', W]]) as never)).rejects.toThrow(/saveCheckpoint: expected an object of named tensors/);
    expect(() => encodeSafetensors(new Map() as never)).toThrow(/encodeSafetensors: expected an object of named tensors/);
    const named = Object.create(null) as Record<string, Tensor>;
    Object.defineProperty(named, '__proto__', { value: W, enumerable: true });
    const bytes = await saveCheckpoint(engine, named);
    expect(Object.keys(decodeSafetensors(bytes).tensors)).toEqual(['__proto__']);
    // A file with an F16 tensor beside the one wanted: the non-strict load takes W, reports h.
    const withHalf = encodeSafetensors({ W: new Float32Array([4, 5, 6]) });
    const header = JSON.parse(new TextDecoder().decode(withHalf.subarray(8, 8 + Number(new DataView(withHalf.buffer).getBigUint64(0, true)))));
    header.h = { dtype: 'F16', shape: [1], data_offsets: [12, 14] };
    const json = new TextEncoder().encode(JSON.stringify(header).padEnd(Math.ceil((JSON.stringify(header).length) / 8) * 8, ' '));
    const file = new Uint8Array(8 + json.length + 14);
    new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
    file.set(json, 8);
    file.set(new Uint8Array(new Float32Array([4, 5, 6]).buffer), 8 + json.length);
    const loaded = loadCheckpoint(engine, file, { W }, { strict: false });
    expect(loaded.unexpected).toEqual(['h']);
    expect(Array.from(await W.read())).toEqual([4, 5, 6]);
    W.dispose();
  });

  it('writes checkpoint files atomically: no temporary file is left, even when the rename fails', async () => {
    const folder = dir('checkpoints');
    const path = join(folder, 'model.safetensors');
    const bytes = encodeSafetensors({ W: new Float32Array([1, 2, 3]) }, { epoch: '1' });
    await writeCheckpointFile(path, bytes);
    expect(readdirSync(folder)).toEqual(['model.safetensors']);
    expect(Array.from(await readCheckpointFile(path))).toEqual(Array.from(bytes));
    const second = encodeSafetensors({ W: new Float32Array([4, 5, 6]) }, { epoch: '2' });
    await writeCheckpointFile(path, second);
    expect(readdirSync(folder)).toEqual(['model.safetensors']);
    expect(decodeSafetensors(await readCheckpointFile(path)).metadata.epoch).toBe('2');
    // Renaming over a directory fails: the error names the path and the temporary file is gone.
    mkdirSync(join(folder, 'taken'));
    writeFileSync(join(folder, 'taken', 'x'), 'x');
    await expect(writeCheckpointFile(join(folder, 'taken'), bytes)).rejects.toThrow(/^shadergrad: writeCheckpointFile: writing .*taken failed/);
    expect(readdirSync(folder).sort()).toEqual(['model.safetensors', 'taken']);
    await expect(writeCheckpointFile(join(folder, 'no', 'such', 'dir.safetensors'), bytes)).rejects.toThrow(/writeCheckpointFile: writing/);
    await expect(readCheckpointFile(join(folder, 'missing.safetensors'))).rejects.toThrow(/^shadergrad: readCheckpointFile: reading .*missing.safetensors failed/);
  });

  it('writes files that go together all or none: a directory where one goes replaces none of them and leaves no temporary file', async () => {
    const folder = dir('together');
    const [a, b, c] = ['model.safetensors', 'history.json', 'plot.svg'].map((name) => join(folder, name)) as [string, string, string];
    await writeFiles([[a, new Uint8Array([1, 2, 3])], [b, '{"epoch": 1}\n'], [c, '<svg/>']]);
    expect(readdirSync(folder).sort()).toEqual(['history.json', 'model.safetensors', 'plot.svg']);
    expect(readFileSync(b, 'utf8')).toBe('{"epoch": 1}\n');
    // The plot's name is taken by a directory: the first two are written, but none is renamed into place.
    rmSync(c);
    mkdirSync(c);
    await expect(writeFiles([[a, new Uint8Array([9])], [b, '{"epoch": 2}\n'], [c, '<svg/>']])).rejects.toThrow(
      /^shadergrad: writeFiles: writing .*plot\.svg failed \(EISDIR: a directory is in the way\)/,
    );
    expect(Array.from(readFileSync(a))).toEqual([1, 2, 3]);
    expect(readFileSync(b, 'utf8')).toBe('{"epoch": 1}\n');
    expect(readdirSync(folder).sort()).toEqual(['history.json', 'model.safetensors', 'plot.svg']);
    // One path twice (however it is spelled) would keep whichever was renamed last: refused, nothing written.
    await expect(writeFiles([[a, new Uint8Array([7])], [`${folder}/./model.safetensors`, new Uint8Array([8])]])).rejects.toThrow(
      /^shadergrad: writeFiles: .*model\.safetensors is given twice/,
    );
    expect(Array.from(readFileSync(a))).toEqual([1, 2, 3]);
    // A name near the file-name limit (255 bytes): its temporary name is cut short, not made longer.
    const long = join(folder, `${'n'.repeat(240)}.safetensors`);
    await writeFiles([[long, new Uint8Array([4])]]);
    expect(Array.from(readFileSync(long))).toEqual([4]);
    expect(readdirSync(folder).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await expect(writeFiles([[a, 3 as never]])).rejects.toThrow(/^shadergrad: writeFiles: files must be a list of \[path, bytes or text\] pairs/);
    await expect(writeFiles({} as never)).rejects.toThrow(/writeFiles: files must be/);
  });
});
