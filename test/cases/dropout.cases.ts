// Dropout cases: the course's statistics, the GPU mask against the host Philox twin, the float64 reference, capture/replay.

import { layers } from '../../src/index';
import { dropoutKeepMask, philox4x32 } from '../../src/reference/dropout';
import { Random } from '../../src/random';
import * as ref from '../../src/reference/layers';
import { numericGradientArray } from '../../src/reference/gradcheck';
import { type NDArray, nd } from '../../src/reference/ndarray';
import { TOL, type TestCase, download, expectClose, expectThrows, expectTrue, randn, upload } from '../harness/check';

/** Dropout out/dx against the float64 reference (f32 inputs; one multiply by 1/(1−p) in f32). */
const DROPOUT_TOL = 1e-6;

/** Normal data with no exact zeros, so out[i] ≠ 0 exactly where the unit was kept. */
function nonzeroRandn(rng: Random, shape: readonly number[]): NDArray {
  const a = randn(rng, shape);
  return nd(a.data.map((v) => (v === 0 ? 1 : v)), shape);
}

/** Where the GPU output is non-zero (for inputs with no zeros: the kept units). */
function keptOf(out: ArrayLike<number>): Uint8Array {
  return Uint8Array.from(out as ArrayLike<number>, (v) => (v !== 0 ? 1 : 0));
}

function countDiffering(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

function expectSameMask(gpu: Uint8Array, host: Uint8Array, what: string): void {
  const differ = countDiffering(gpu, host);
  if (differ) {
    const first = gpu.findIndex((v, i) => v !== host[i]);
    throw new Error(`${what}: ${differ} of ${host.length} mask entries differ from the host Philox mask (first at ${first})`);
  }
}

export const cases: TestCase[] = [
  {
    name: "dropout: the host Philox4x32-10 reproduces Random123's known-answer vectors",
    async run() {
      const hex = (a: Uint32Array) => Array.from(a, (v) => v.toString(16).padStart(8, '0')).join(' ');
      // Random123's kat_vectors for philox4x32_10: counter, key → output.
      const kat: Array<[number[], number[], string]> = [
        [[0, 0, 0, 0], [0, 0], '6627e8d5 e169c58d bc57ac4c 9b00dbd8'],
        [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], '408f276d 41c83b0e a20bc7c6 6d5451fd'],
        [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], 'd16cfe09 94fdcceb 5001e420 24126ea1'],
      ];
      for (const [counter, key, expected] of kat) {
        const got = hex(philox4x32(counter, key));
        expectTrue(got === expected, `philox4x32_10(${hex(Uint32Array.from(counter))}; ${hex(Uint32Array.from(key))}) = ${got}, expected ${expected}`);
      }
      // Distinct blocks, keys and streams give distinct words.
      const words = new Set<number>();
      for (let block = 0; block < 64; block++) for (const w of philox4x32([block, 0, 0, 0], [1234, block & 3])) words.add(w);
      expectTrue(words.size === 256, `64 blocks gave ${words.size} distinct words of 256`);
    },
  },
  {
    name: "dropout: the course's check — train mean ≈ test mean and the zero fraction ≈ p (p = 0.25, 0.4, 0.7)",
    timeout: 300_000,
    async run(engine) {
      const rng = new Random(231);
      const x = randn(rng, [500, 500], 1, 10);
      const gx = upload(engine, x);
      const xMean = x.data.reduce((a, v) => a + v, 0) / x.data.length;
      for (const p of [0.25, 0.4, 0.7]) {
        const train = await download(layers.dropoutForward(gx, { p, mode: 'train', seed: 123 }).out);
        const test = layers.dropoutForward(gx, { p, mode: 'test' });
        expectTrue(test.cache.mode === 'test', `p = ${p}: test-mode cache says mode ${test.cache.mode}`);
        const testOut = await download(test.out);
        expectTrue(testOut.every((v, i) => v === x.data[i]), `p = ${p}: test mode changed x`);
        const trainMean = train.reduce((a, v) => a + v, 0) / train.length;
        const zeros = train.reduce((a, v) => a + (v === 0 ? 1 : 0), 0) / train.length;
        // The mean's standard error is about 0.03 (0.3 %) at p = 0.7; the zero fraction's about 0.001.
        expectTrue(Math.abs(trainMean - xMean) / xMean < 0.02, `p = ${p}: train mean ${trainMean} vs test mean ${xMean}`);
        expectTrue(Math.abs(zeros - p) < 0.01, `p = ${p}: fraction of zeros ${zeros}`);
      }
    },
  },
  ...[
    { shape: [1, 1], p: 0.5, seed: 1, stream: 0, label: 'N = 1, one unit' },
    { shape: [1, 7], p: 0.3, seed: 2, stream: 5, label: 'N = 1, 7 units (a partial Philox block)' },
    { shape: [3, 5, 7], p: 0.5, seed: 0xffffffff, stream: 1, label: 'odd 3-D shape' },
    { shape: [127, 33], p: 0.9, seed: 77, stream: 2, label: 'odd 2-D shape, p = 0.9' },
    { shape: [1000, 3000], p: 0.5, seed: 2024, stream: 3, label: 'large: 1000×3000' },
  ].map(({ shape, p, seed, stream, label }) => ({
    name: `dropout: GPU mask = host Philox mask exactly, out/dx = float64 reference (${label}: [${shape}], p ${p})`,
    timeout: 300_000,
    async run(engine) {
      const rng = new Random(seed % 1000);
      const x = nonzeroRandn(rng, shape);
      const dout = nonzeroRandn(rng, shape);
      const { out, cache } = layers.dropoutForward(upload(engine, x), { p, mode: 'train', seed, stream });
      expectTrue(out.shape.join() === shape.join(), `out shape [${out.shape}]`);
      expectTrue(cache.mode === 'train' && cache.seed?.value === seed >>> 0, `cache ${JSON.stringify(cache)}`);
      const keep = dropoutKeepMask(seed, stream, x.data.length, p);
      const gpuOut = await download(out);
      expectSameMask(keptOf(gpuOut), keep, 'forward');
      const r = ref.dropoutForward(x, p, keep);
      expectClose(gpuOut, r.out.data, DROPOUT_TOL, 'dropout out');
      const dx = layers.dropoutBackward(upload(engine, dout), cache);
      expectTrue(dx.shape.join() === shape.join(), `dx shape [${dx.shape}]`);
      const gpuDx = await download(dx);
      expectSameMask(keptOf(gpuDx), keep, 'backward (regenerated mask)');
      expectClose(gpuDx, ref.dropoutBackward(dout, r.mask).data, DROPOUT_TOL, 'dropout dx');
    },
  }) satisfies TestCase),
  {
    name: 'dropout: a unit is kept exactly when u = (bits >> 8)·2⁻²⁴ ≥ p — p at a unit\'s own u and half a step of u either side (the mask computed from Philox, not from dropoutThreshold)',
    async run(engine) {
      // The random masks of the other cases almost never put a unit's u on p (2⁻²⁴ of them would): here p is
      // set from the units' own u, so keeping u = p (≥, not >) and rounding p up to the next u (ceil, not
      // floor) are checked, on the GPU and in the host twin, against the mask written out from the definition.
      const [seed, stream] = [31337, 4];
      const shape = [3, 7];
      const size = 21;
      const rng = new Random(12);
      const x = nonzeroRandn(rng, shape);
      const dout = nonzeroRandn(rng, shape);
      const gx = upload(engine, x);
      const gd = upload(engine, dout);
      const u = new Float64Array(size);
      for (let block = 0; block * 4 < size; block++) {
        const bits = philox4x32([block, 0, 0, 0], [seed, stream]);
        for (let lane = 0; lane < 4 && block * 4 + lane < size; lane++) u[block * 4 + lane] = (bits[lane]! >>> 8) * 2 ** -24;
      }
      const units = [0, 5, 13, 20].filter((j) => u[j]! > 0.01 && u[j]! < 0.99);
      expectTrue(units.length >= 3, `units with u inside (0.01, 0.99): ${units}`);
      for (const j of units) {
        for (const [label, p] of [['u', u[j]!], ['u − 2⁻²⁵', u[j]! - 2 ** -25], ['u + 2⁻²⁵', u[j]! + 2 ** -25]] as const) {
          const what = `unit ${j}, p = ${label} = ${p}`;
          const keep = Uint8Array.from(u, (v) => (v >= p ? 1 : 0));
          expectTrue(keep[j] === (label === 'u + 2⁻²⁵' ? 0 : 1), `${what}: the written-out mask`);
          expectSameMask(dropoutKeepMask(seed, stream, size, p), keep, `${what}: host twin`);
          const { out, cache } = layers.dropoutForward(gx, { p, mode: 'train', seed, stream });
          const gpuOut = await download(out);
          expectSameMask(keptOf(gpuOut), keep, `${what}: forward`);
          const r = ref.dropoutForward(x, p, keep);
          expectClose(gpuOut, r.out.data, DROPOUT_TOL, `${what}: out`);
          const gpuDx = await download(layers.dropoutBackward(gd, cache));
          expectSameMask(keptOf(gpuDx), keep, `${what}: backward`);
          expectClose(gpuDx, ref.dropoutBackward(dout, r.mask).data, DROPOUT_TOL, `${what}: dx`);
        }
      }
    },
  },
  {
    name: 'dropout: same seed → same mask; another seed or stream → another; no seed → a fresh mask each call',
    async run(engine) {
      const rng = new Random(5);
      const shape = [40, 50];
      const p = 0.5;
      const gx = upload(engine, nonzeroRandn(rng, shape));
      const mask = async (param: { seed?: number; stream?: number }) =>
        keptOf(await download(layers.dropoutForward(gx, { p, mode: 'train', ...param }).out));
      const a = await mask({ seed: 42 });
      const again = await mask({ seed: 42 });
      expectTrue(countDiffering(a, again) === 0, 'the same seed gave two different masks');
      // Two independent masks at p = 0.5 differ in about half the 2000 units (standard deviation 22).
      const n = a.length;
      for (const [what, other] of [
        ['seed 43', await mask({ seed: 43 })],
        ['stream 1', await mask({ seed: 42, stream: 1 })],
        ['stream 2', await mask({ seed: 42, stream: 2 })],
        ['no seed', await mask({})],
      ] as const) {
        const differ = countDiffering(a, other);
        expectTrue(Math.abs(differ - n / 2) < 150, `${what}: ${differ} of ${n} units differ from seed 42 stream 0 (expected ≈ ${n / 2})`);
      }
      const u1 = await mask({});
      const u2 = await mask({});
      expectTrue(Math.abs(countDiffering(u1, u2) - n / 2) < 150, 'two unseeded calls gave (nearly) the same mask');
      // The mask depends on the element index only: a smaller tensor's mask is the larger one's prefix.
      const small = layers.dropoutForward(upload(engine, nonzeroRandn(rng, [7, 13])), { p, mode: 'train', seed: 42 });
      const prefix = keptOf(await download(small.out));
      expectTrue(countDiffering(prefix, a.subarray(0, prefix.length)) === 0, 'a 7×13 mask is not the prefix of the 40×50 mask');
      // The host twin's streams are uncorrelated too (agreement ≈ p² + (1 − p)² over 10⁶ units).
      const big0 = dropoutKeepMask(9, 0, 1_000_000, 0.3);
      const big1 = dropoutKeepMask(9, 1, 1_000_000, 0.3);
      const agree = 1 - countDiffering(big0, big1) / 1e6;
      expectTrue(Math.abs(agree - 0.58) < 0.003, `streams 0 and 1 agree on ${agree} of units (expected 0.58)`);
    },
  },
  {
    name: 'dropout: reference backward matches centred finite differences (float64)',
    async run() {
      const rng = new Random(17);
      const x = randn(rng, [10, 10]);
      const dout = randn(rng, [10, 10]);
      const p = 0.4;
      const keep = dropoutKeepMask(3, 0, 100, p);
      const { mask } = ref.dropoutForward(x, p, keep);
      const numeric = numericGradientArray((v) => ref.dropoutForward(v, p, keep).out, x, dout);
      expectClose(ref.dropoutBackward(dout, mask).data, numeric, TOL.gradcheck, 'reference dropout dx');
    },
  },
  {
    name: 'dropout: p = 0 keeps everything; test mode gives views of x and dout (no copy)',
    async run(engine) {
      const rng = new Random(8);
      const x = randn(rng, [9, 11]);
      const dout = randn(rng, [9, 11]);
      const gx = upload(engine, x);
      const f = layers.dropoutForward(gx, { p: 0, mode: 'train' });
      expectTrue((await download(f.out)).every((v, i) => v === x.data[i]), 'p = 0 changed x');
      const b = layers.dropoutBackward(upload(engine, dout), f.cache);
      expectTrue((await download(b)).every((v, i) => v === dout.data[i]), 'p = 0 changed dout');
      const t = layers.dropoutForward(gx, { p: 0.5, mode: 'test', seed: 1 });
      expectTrue(t.cache.mode === 'test' && t.cache.seed === null, `test cache ${JSON.stringify(t.cache)}`);
      expectTrue(t.out !== gx && t.out.storage === gx.storage, 'test mode out is not a view of x');
      t.out.dispose();
      expectTrue((await download(gx)).every((v, i) => v === x.data[i]), 'disposing the test-mode view broke x');
      const gd = upload(engine, dout);
      const tdx = layers.dropoutBackward(gd, t.cache);
      expectTrue(tdx.storage === gd.storage && (await download(tdx)).every((v, i) => v === dout.data[i]), 'test-mode dx is not dout');
    },
  },
  {
    name: 'dropout: bad p, mode, seed, dtype and dout shape throw before any GPU work',
    async run(engine) {
      const x = engine.tensor(new Float32Array(6), [2, 3]);
      const before = engine.stats().dispatches;
      for (const p of [1, -0.1, 1.5, Number.NaN]) {
        await expectThrows(() => layers.dropoutForward(x, { p, mode: 'train' }), /^shadergrad: dropoutForward: p must be in \[0, 1\), got/, `p = ${p}`);
      }
      await expectThrows(() => layers.dropoutForward(x, { p: 0.5, mode: 'eval' as 'train' }), /^shadergrad: dropoutForward: mode/, 'mode eval');
      await expectThrows(() => layers.dropoutForward(x, { p: 0.5, mode: 'train', seed: 1.5 }), /^shadergrad: dropoutForward: seed/, 'seed 1.5');
      await expectThrows(() => layers.dropoutForward(x, { p: 0.5, mode: 'train', stream: -1 }), /^shadergrad: dropoutForward: stream/, 'stream -1');
      const labels = engine.tensor(new Int32Array([1, 2]));
      await expectThrows(() => layers.dropoutForward(labels, { p: 0.5, mode: 'train' }), /^shadergrad: dropoutForward: x must be f32.*i32 \[2\]/, 'i32 x');
      expectTrue(engine.stats().dispatches === before, 'a rejected call dispatched');
      const { cache } = layers.dropoutForward(x, { p: 0.5, mode: 'train', seed: 1 });
      const wrong = engine.tensor(new Float32Array(5), [5]);
      await expectThrows(() => layers.dropoutBackward(wrong, cache), /^shadergrad: dropoutBackward: dout f32 \[5\].*\[2, 3\]/, 'dout shape');
    },
  },
  {
    name: 'dropout: a captured step replays with a fresh mask each time (unseeded), dx matching its forward; seeded replays repeat',
    async run(engine) {
      const rng = new Random(99);
      const shape = [33, 65];
      const size = 33 * 65;
      const x = nonzeroRandn(rng, shape);
      const dout = nonzeroRandn(rng, shape);
      const gx = upload(engine, x);
      const gd = upload(engine, dout);
      for (const seed of [undefined, 7]) {
        const param = seed === undefined ? { p: 0.5, mode: 'train' as const } : { p: 0.5, mode: 'train' as const, seed };
        const step = engine.capture(() => {
          const f = layers.dropoutForward(gx, param);
          const b = layers.dropoutBackward(gd, f.cache);
          return { out: f.out, dx: b, cache: f.cache };
        });
        const masks: Uint8Array[] = [];
        for (let replay = 0; replay < 3; replay++) {
          if (replay) step.replay();
          const { out, dx, cache } = step.result;
          const keep = dropoutKeepMask(cache.seed!.value, 0, size, 0.5);
          const r = ref.dropoutForward(x, 0.5, keep);
          const gOut = await download(out);
          const gDx = await download(dx);
          expectSameMask(keptOf(gOut), keep, `seed ${seed}, replay ${replay}: forward`);
          expectSameMask(keptOf(gDx), keep, `seed ${seed}, replay ${replay}: backward`);
          expectClose(gOut, r.out.data, DROPOUT_TOL, `seed ${seed}, replay ${replay}: out`);
          expectClose(gDx, ref.dropoutBackward(dout, r.mask).data, DROPOUT_TOL, `seed ${seed}, replay ${replay}: dx`);
          masks.push(keep);
        }
        for (let i = 1; i < masks.length; i++) {
          const differ = countDiffering(masks[0]!, masks[i]!);
          if (seed === undefined) expectTrue(differ > size / 4, `unseeded replay ${i} reused the mask (${differ} of ${size} units differ)`);
          else expectTrue(differ === 0, `seeded replay ${i} changed the mask (${differ} units differ)`);
        }
        step.dispose();
      }
    },
  },
];
