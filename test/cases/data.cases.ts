// Dataset and checkpoint cases that run in Node and in Chromium alike: IDX parsing (gzip through the platform's decompressor), the spiral, safetensors, the shipped Fashion-MNIST sample.

import { datasets, checkpoint, layers } from '../../src/index';
import { gatherRows } from '../../src/kernels/gather';
import { type TestCase, expectThrows, expectTrue } from '../harness/check';

const { encodeIdx, loadIdx, spiral, spiralData, fashionMnist, loadFashionMnist } = datasets;
const { encodeSafetensors, decodeSafetensors, saveCheckpoint, loadCheckpoint } = checkpoint;

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

export const cases: TestCase[] = [
  {
    name: 'loadIdx reads big-endian IDX data, gzip or not, and refuses a bad magic or a short file',
    async run() {
      const raw = new Uint8Array([0, 0, 0x0b, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe]);
      const plain = await loadIdx(raw);
      expectTrue(plain.dtype === 'i16' && plain.shape.join() === '1,2' && same(plain.data, [258, -2]), `i16: ${plain.dtype} ${plain.shape} ${plain.data}`);
      const gz = await loadIdx(await gzip(raw));
      expectTrue(same(gz.data, [258, -2]), `gzip i16: ${gz.data}`);
      const f32 = encodeIdx('f32', [3], [1.5, -0.25, 3]);
      const parsed = await loadIdx((await gzip(f32)).buffer as ArrayBuffer);
      expectTrue(parsed.dtype === 'f32' && same(parsed.data, [1.5, -0.25, 3]), `f32: ${parsed.data}`);
      await expectThrows(() => loadIdx(new Uint8Array([0x1f, 0, 8, 1])), /loadIdx: bad magic/, 'bad magic');
      await expectThrows(() => loadIdx(raw.subarray(0, 14)), /loadIdx: truncated data/, 'truncated data');
      const cut = await gzip(raw);
      await expectThrows(() => loadIdx(cut.subarray(0, cut.length - 4)), /loadIdx: the gzip data is corrupt or truncated/, 'truncated gzip');
    },
  },
  {
    name: 'spiral: (n·classes, 2) f32 and (n·classes) i32, arms by class, radius linspace(0, 1, n), deterministic by seed',
    async run(engine) {
      const { X, y } = spiral(engine, { n: 50, classes: 4, seed: 11 });
      expectTrue(X.shape.join() === '200,2' && X.dtype === 'f32' && y.shape.join() === '200' && y.dtype === 'i32', `shapes ${X} ${y}`);
      const x = (await X.read()) as Float32Array;
      const labels = (await y.read()) as Int32Array;
      const host = spiralData({ n: 50, classes: 4, seed: 11 });
      expectTrue(same(x, host.X) && same(labels, host.y), 'the GPU tensors hold the host data');
      for (let row = 0; row < 200; row++) {
        expectTrue(labels[row] === Math.floor(row / 50), `label of row ${row}: ${labels[row]}`);
        const r = Math.hypot(x[2 * row]!, x[2 * row + 1]!);
        expectTrue(Math.abs(r - (row % 50) / 49) < 1e-6, `radius of row ${row}: ${r}`);
      }
      expectTrue(!same(spiralData({ n: 50, classes: 4, seed: 12 }).X, host.X), 'another seed gives other points');
      X.dispose();
      y.dispose();
    },
  },
  {
    name: "safetensors: the reference writer's bytes, GPU save/load round trip, a corrupt or mismatched file changes nothing",
    async run(engine) {
      // huggingface/safetensors' own test vector: {"test": zeros((2, 2), int32)}, header padded to 64 bytes.
      const json = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ';
      const reference = new Uint8Array([64, 0, 0, 0, 0, 0, 0, 0, ...ascii(json), ...new Array(16).fill(0)]);
      expectTrue(same(encodeSafetensors({ test: { data: new Int32Array(4), shape: [2, 2] } }), reference), 'encoder matches the reference bytes');
      const decoded = decodeSafetensors(reference).tensors.test!;
      expectTrue(decoded.dtype === 'I32' && decoded.shape.join() === '2,2' && same(decoded.data, [0, 0, 0, 0]), 'decoder reads the reference');

      const W1 = engine.tensor([0.5, -1, 2, 3e-7, 4, 5], [2, 3]);
      const b1 = engine.tensor([7], [1]);
      const ids = engine.tensor(new Int32Array([3, -4]));
      const bytes = await saveCheckpoint(engine, { W1, b1, ids }, { epoch: '2', config: '{"lr":0.001}' });
      const targets = { W1: engine.zeros([2, 3]), b1: engine.zeros([1]), ids: engine.zeros([2], 'i32') };
      const loaded = loadCheckpoint(engine, bytes, targets);
      expectTrue(loaded.metadata.epoch === '2' && loaded.metadata.config === '{"lr":0.001}', `metadata ${JSON.stringify(loaded.metadata)}`);
      expectTrue(same(await targets.W1.read(), await W1.read()), 'W1 loaded');
      expectTrue(same(await targets.b1.read(), [7]) && same(await targets.ids.read(), [3, -4]), 'b1 and ids loaded');

      const corrupt = bytes.slice();
      corrupt[0] = corrupt[0]! + 8; // the header length now runs into the data
      await expectThrows(() => loadCheckpoint(engine, corrupt, targets), /loadCheckpoint: the header/, 'corrupt header length');
      await expectThrows(() => loadCheckpoint(engine, bytes.subarray(0, bytes.length - 4), targets), /loadCheckpoint: .*run past|cover/, 'truncated data');
      const wrong = { W1: engine.zeros([3, 2]), b1: targets.b1, ids: targets.ids };
      await expectThrows(() => loadCheckpoint(engine, bytes, wrong), /W1: shape \[2, 3\] in the file, \[3, 2\] in the target/, 'shape mismatch');
      const asF32 = encodeSafetensors({ W1: { data: new Float32Array(6), shape: [2, 3] }, b1: new Float32Array(1), ids: new Float32Array(2) });
      await expectThrows(() => loadCheckpoint(engine, asF32, targets), /ids: F32 in the file, i32 in the target/, 'dtype mismatch');
      // Names and metadata must be encodable as UTF-8 (Python's reader refuses lone surrogates).
      await expectThrows(() => encodeSafetensors({ ['W\uD800']: new Float32Array(1) }), /encodeSafetensors: tensor name .* lone UTF-16 surrogate/, 'lone surrogate name');
      await expectThrows(() => encodeSafetensors({ W: new Float32Array(1) }, { note: 'a\uDC00b' }), /__metadata__\.note .* lone UTF-16 surrogate/, 'lone surrogate metadata');
      expectTrue(encodeSafetensors({ ['W\u{1F600}']: new Float32Array(1) }).length > 0, 'a paired surrogate (an emoji) is fine');
      expectTrue(same(await targets.b1.read(), [7]) && same(await targets.ids.read(), [3, -4]), 'refused loads wrote nothing');
      expectTrue(same(await wrong.W1.read(), [0, 0, 0, 0, 0, 0]), 'the mismatched target was not written');
      for (const t of [W1, b1, ids, ...Object.values(targets), wrong.W1]) t.dispose();
    },
  },
  {
    name: 'the shipped Fashion-MNIST sample loads (fetch in the browser, fs in Node) and its 8-bit rows gather as bytes / 255',
    timeout: 120_000,
    async run(engine) {
      const host = await loadFashionMnist({ split: 'test', source: 'sample' });
      expectTrue(host.count === 1000 && host.rows === 28 && host.cols === 28, `sample test split: ${host.count} × ${host.rows}×${host.cols}`);
      const counts = new Array(10).fill(0);
      for (const l of host.labels) counts[l]++;
      expectTrue(counts.every((c) => c === 100), `class counts ${counts}`);
      const { X, y, labels } = await fashionMnist(engine, { split: 'train', source: 'sample', limit: 300 });
      expectTrue(X.shape.join() === '300,784' && X.format === 'unorm8' && y.shape.join() === '300', `shapes ${X} ${y}`);
      const train = await loadFashionMnist({ split: 'train', source: 'sample', limit: 300 });
      expectTrue(same(labels, train.labels) && same(await y.read(), train.labels), 'labels');
      const picks = [0, 299, 150];
      const idx = engine.tensor(Int32Array.from(picks));
      const rows = (await gatherRows(engine, X, idx).read()) as Float32Array;
      picks.forEach((r, i) => {
        for (let c = 0; c < 784; c++) {
          const want = Math.fround(train.images[r * 784 + c]! / 255);
          if (Math.abs(rows[i * 784 + c]! - want) > 1e-6) throw new Error(`row ${r} col ${c}: ${rows[i * 784 + c]} vs ${want}`);
        }
      });
      // toFloat32: the layer functions' way in (they refuse packed data, naming it).
      await expectThrows(() => layers.affineForward(X, engine.tensor(new Float32Array(784 * 2), [784, 2]), engine.tensor([0, 0])), /datasets.toFloat32\(X, start, count\)/, 'packed X into a layer');
      const some = datasets.toFloat32(X, 150, 3);
      expectTrue(some.shape.join() === '3,784' && some.format === 'native' && some.dtype === 'f32', `toFloat32 shape ${some}`);
      const got = (await some.read()) as Float32Array;
      for (let c = 0; c < 3 * 784; c++) {
        const want = Math.fround(train.images[150 * 784 + c]! / 255);
        if (Math.abs(got[c]! - want) > 1e-6) throw new Error(`toFloat32 element ${c}: ${got[c]} vs ${want}`);
      }
      const out = layers.affineForward(some, engine.tensor(new Float32Array(784 * 2).fill(1), [784, 2]), engine.tensor([0, 0])).out;
      const first = (await out.read())[0]!;
      const rowSum = got.slice(0, 784).reduce((a, v) => a + v, 0);
      expectTrue(Math.abs(first - rowSum) < 1e-3, `the unpacked rows feed affineForward: ${first} vs ${rowSum}`);
      await expectThrows(() => datasets.toFloat32(X, 299, 2), /toFloat32: count must be an integer with start \+ count ≤ 300, got start 299, count 2/, 'past the end');
      for (const t of [X, y, idx, some, out]) t.dispose();
    },
  },
  {
    name: 'gatherRows reads a view at its own offset (a slab view, not the start of its buffer)',
    async run(engine) {
      const slab = engine.slab({ a: [4, 3], b: [5, 3] });
      engine.writeBuffer(slab.views.b!.storage, Float32Array.from({ length: 15 }, (_, i) => 100 + i), slab.views.b!.byteOffset);
      engine.writeBuffer(slab.views.a!.storage, Float32Array.from({ length: 12 }, (_, i) => i), slab.views.a!.byteOffset);
      const idx = engine.tensor(new Int32Array([4, 0]));
      const rows = await gatherRows(engine, slab.views.b!, idx).read();
      expectTrue(same(rows, [112, 113, 114, 100, 101, 102]), `rows 4 and 0 of view b: ${Array.from(rows)}`);
      for (const t of [slab.flat, ...Object.values(slab.views), idx]) t.dispose();
    },
  },
  {
    name: 'gatherRows: an index outside [0, N) (−1, N, N + 1) gives a NaN row (f32, 8-bit) or −1 (i32 labels), never a row of other data',
    async run(engine) {
      // Views of a slab: the rows past view a's end are view b's, the data a read past N would find.
      const slab = engine.slab({ a: [4, 3], b: [5, 3] });
      engine.writeBuffer(slab.views.a!.storage, Float32Array.from({ length: 12 }, (_, i) => i), slab.views.a!.byteOffset);
      engine.writeBuffer(slab.views.b!.storage, Float32Array.from({ length: 15 }, (_, i) => 100 + i), slab.views.b!.byteOffset);
      const labels = engine.tensor(new Int32Array([7, 8, 9, 10]));
      const bytes = engine.tensorUnorm8(Uint8Array.from({ length: 4 * 3 }, (_, i) => 10 * i), [4, 3]);
      const idx = engine.tensor(new Int32Array([3, 4, -1, 0, 5]));
      const rows = await gatherRows(engine, slab.views.a!, idx).read();
      const nan = Number.NaN;
      // NaN exactly where expected; f32(byte)·f32(1/255) may differ from the rounded quotient in the last place.
      const isSame = (a: ArrayLike<number>, b: ArrayLike<number>) =>
        a.length === b.length && Array.from(a).every((v, i) => (Number.isNaN(b[i]!) ? Number.isNaN(v) : Math.abs(v - b[i]!) <= 1e-6 * Math.max(1, Math.abs(b[i]!))));
      expectTrue(isSame(rows, [9, 10, 11, nan, nan, nan, nan, nan, nan, 0, 1, 2, nan, nan, nan]), `f32 rows 3, 4, −1, 0, 5 of a 4-row view: ${Array.from(rows)}`);
      const packed = await gatherRows(engine, bytes, idx).read();
      const unorm = (i: number) => Math.fround((10 * i) / 255);
      expectTrue(isSame(packed, [unorm(9), unorm(10), unorm(11), nan, nan, nan, nan, nan, nan, unorm(0), unorm(1), unorm(2), nan, nan, nan]), `8-bit rows: ${Array.from(packed)}`);
      const y = await gatherRows(engine, labels, idx).read();
      expectTrue(isSame(y, [10, -1, -1, 7, -1]), `i32 labels 3, 4, −1, 0, 5 of 4: ${Array.from(y)}`);
      for (const t of [slab.flat, ...Object.values(slab.views), labels, bytes, idx]) t.dispose();
    },
  },
];
