// Affine, ReLU and matmul cases: the course's published values, float64 reference, gradients.

import { layers } from '../../src/index';
import { matmul, vec4Applies, type MatmulTile } from '../../src/kernels/matmul';
import { columnSum } from '../../src/kernels/reduce';
import { Random } from '../../src/random';
import * as ref from '../../src/reference/layers';
import { courseRelError, numericGradientArray } from '../../src/reference/gradcheck';
import { linspace, matmul as refMatmul, nd } from '../../src/reference/ndarray';
import { TOL, type TestCase, download, expectClose, expectCloseOrNaN, expectTensor, expectThrows, expectTrue, randn, upload } from '../harness/check';

/** Every tile the engine may pick, so SwiftShader exercises the code paths GPUs take too. */
const TILES: Record<string, MatmulTile> = {
  'cpu-direct-wide 128×64': { wgX: 4, wgY: 16, rows: 8, cols4: 4, tileK: 32, staging: 'direct' },
  'cpu-direct-narrow 64×32': { wgX: 8, wgY: 8, rows: 8, cols4: 1, tileK: 32, staging: 'direct' },
  'workgroup 64×128, k 32': { wgX: 8, wgY: 8, rows: 8, cols4: 4, tileK: 32 },
  'workgroup 64×32, k 32': { wgX: 8, wgY: 8, rows: 8, cols4: 1, tileK: 32 },
  'gpu-scalar 128×128, k 32 (the large tile where vec4 does not apply)': { wgX: 16, wgY: 16, rows: 8, cols4: 2, tileK: 32, pad: 0 },
  'gpu-scalar 64×64, k 16': { wgX: 16, wgY: 16, rows: 4, cols4: 1, tileK: 16 },
  'gpu-narrow 128×32': { wgX: 8, wgY: 32, rows: 4, cols4: 1, tileK: 16 },
  'grouped 32×32, 4 groups along K, k 16': { wgX: 8, wgY: 8, rows: 4, cols4: 1, tileK: 16, kGroups: 4 },
  'grouped 32×64, 2 groups along K, k 8': { wgX: 8, wgY: 4, rows: 8, cols4: 2, tileK: 8, kGroups: 2 },
  // The GPU defaults (the large one at k 16, as a 32 KiB device gets it) and the other options.
  'gpu-vec4 large 128×128, k 16, 2 stages, a·b + c': { wgX: 16, wgY: 16, rows: 8, cols4: 2, tileK: 16, staging: 'vec4', stages: 2, fma: false, pad: 0 },
  'gpu-vec4 32×128, k 24 (the large default\'s k-step), 2 stages': { wgX: 16, wgY: 8, rows: 4, cols4: 2, tileK: 24, staging: 'vec4', stages: 2, fma: false, pad: 0 },
  'gpu-vec4 128×128, k 32, 1 stage, unrolled 8 at a time': { wgX: 16, wgY: 16, rows: 8, cols4: 2, tileK: 32, staging: 'vec4', stages: 1, fma: false, pad: 0, unroll: 8 },
  'gpu-vec4 64×64, k 32, 2 stages, the next tile fetched in halves': { wgX: 16, wgY: 16, rows: 4, cols4: 1, tileK: 32, staging: 'vec4', stages: 2, pad: 0, halves: true },
  'gpu-vec4 tiny 32×32, k 16, 2 stages, a·b + c': { wgX: 8, wgY: 8, rows: 4, cols4: 1, tileK: 16, staging: 'vec4', stages: 2, fma: false },
  'gpu-vec4 small 64×64, k 16, 2 stages, 4×4 blocks, a·b + c': { wgX: 16, wgY: 16, rows: 4, cols4: 1, tileK: 16, staging: 'vec4', fma: false, block: true },
  'gpu-vec4 128×128, k 8, 2 stages, 4×4 blocks, 8×4 warps, fma': { wgX: 16, wgY: 16, rows: 8, cols4: 2, tileK: 8, staging: 'vec4', warpX: 8, block: true },
  // Tuning options (bench/matmul-tiles.ts): the output walked in bands of tile-rows (bands of 2
  // 32-row tiles leave a last band cut short at 68 and 132 rows; bands of 3 64-row tiles, at 68
  // rows), operands read a k-step ahead, multiply-adds column by column,
  // the k-loop written out per stage (odd and even counts of k-tiles: K = 36, 64, 200).
  'gpu-vec4 32×32, k 16, stage pairs, bands of 2 tile-rows, operands a step ahead': { wgX: 8, wgY: 8, rows: 4, cols4: 1, tileK: 16, staging: 'vec4', stages: 2, fma: false, swizzle: 2, ahead: true, pairStages: true },
  'gpu-vec4 64×64 (8×8 of 8×8), k 24, 2 stages, halves, a step ahead, by column, bands of 3': { wgX: 8, wgY: 8, rows: 8, cols4: 2, tileK: 24, staging: 'vec4', stages: 2, fma: false, pad: 0, halves: true, ahead: true, byColumn: true, swizzle: 3 },
};

const matmulShapes: Array<[number, number, number]> = [
  [1, 1, 1],
  [1, 13, 7],
  [67, 130, 37],
  [129, 33, 200],
  [5, 257, 64],
];

/** Shapes the vec4 kernel takes (M, N, K multiples of 4): one k-tile shorter than TILE_K, many k-tiles, partial edge tiles. */
const vec4Shapes: Array<[number, number, number]> = [
  [4, 4, 4],
  [68, 132, 36],
  [132, 36, 200],
  [4, 260, 64],
];

export const cases: TestCase[] = [
  {
    name: "affineForward reproduces the course's linspace case (rel_error < 1e-6)",
    async run(engine) {
      const inputShape = [4, 5, 6];
      const D = 120;
      const x = engine.tensor(linspace(-0.1, 0.5, 2 * D), [2, ...inputShape]);
      const w = engine.tensor(linspace(-0.2, 0.3, 3 * D), [D, 3]);
      const b = engine.tensor(linspace(-0.3, 0.1, 3), [3]);
      const { out } = layers.affineForward(x, w, b);
      const correct = [1.49834967, 1.70660132, 1.91485297, 3.25553199, 3.5141327, 3.77273342];
      const err = courseRelError(await out.read(), correct);
      expectTrue(err < 1e-6, `affine linspace case: rel_error ${err}`);
      expectTrue(out.shape.join() === '2,3', `out shape ${out.shape}`);
    },
  },
  {
    name: "reluForward reproduces the course's linspace case (rel_error < 5e-7)",
    async run(engine) {
      const x = engine.tensor(linspace(-0.5, 0.5, 12), [3, 4]);
      const { out } = layers.reluForward(x);
      const correct = [0, 0, 0, 0, 0, 0, 0.04545455, 0.13636364, 0.22727273, 0.31818182, 0.40909091, 0.5];
      const err = courseRelError(await out.read(), correct);
      expectTrue(err < 5e-7, `relu linspace case: rel_error ${err}`);
    },
  },
  {
    name: 'reference affine and ReLU gradients match centred finite differences (float64)',
    async run() {
      const rng = new Random(1);
      const x = randn(rng, [10, 2, 3]);
      const w = randn(rng, [6, 5]);
      const b = randn(rng, [5]);
      const dout = randn(rng, [10, 5]);
      const { dx, dw, db } = ref.affineBackward(dout, ref.affineForward(x, w, b).cache);
      expectClose(dx.data, numericGradientArray((v) => ref.affineForward(v, w, b).out, x, dout), TOL.gradcheck, 'ref affine dx');
      expectClose(dw.data, numericGradientArray((v) => ref.affineForward(x, v, b).out, w, dout), TOL.gradcheck, 'ref affine dw');
      expectClose(db.data, numericGradientArray((v) => ref.affineForward(x, w, v).out, b, dout), TOL.gradcheck, 'ref affine db');
      // ReLU: keep inputs away from the kink, where finite differences are meaningless.
      const xr = nd(randn(rng, [10, 10]).data.map((v) => (Math.abs(v) < 0.05 ? 0.5 : v)), [10, 10]);
      const dr = randn(rng, [10, 10]);
      expectClose(ref.reluBackward(dr, xr).data, numericGradientArray((v) => ref.reluForward(v).out, xr, dr), TOL.gradcheck, 'ref relu dx');
      const s = ref.affineReluForward(x, w, b);
      const g = ref.affineReluBackward(dout, s.cache);
      expectClose(g.dw.data, numericGradientArray((v) => ref.affineReluForward(x, v, b).out, w, dout), TOL.gradcheck, 'ref affine-relu dw');
    },
  },
  ...[
    { shape: [1, 3], M: 1, label: 'N = 1' },
    { shape: [7, 3, 5], M: 13, label: 'odd sizes' },
    { shape: [65, 130], M: 33, label: 'past one tile' },
  ].map(({ shape, M, label }) => ({
    name: `affine forward/backward match the float64 reference (${label}: x [${shape}], M ${M})`,
    async run(engine) {
      const rng = new Random(shape.length * 100 + M);
      const D = shape.slice(1).reduce((a, b) => a * b, 1);
      const x = randn(rng, shape);
      const w = randn(rng, [D, M], 0.5);
      const b = randn(rng, [M]);
      const dout = randn(rng, [shape[0]!, M]);
      const r = ref.affineForward(x, w, b);
      const rg = ref.affineBackward(dout, r.cache);
      const { out, cache } = layers.affineForward(upload(engine, x), upload(engine, w), upload(engine, b));
      await expectTensor(out, r.out, TOL.matmul, 'affine out');
      const g = layers.affineBackward(upload(engine, dout), cache);
      await expectTensor(g.dx, rg.dx, TOL.matmul, 'affine dx');
      await expectTensor(g.dw, rg.dw, TOL.matmul, 'affine dw');
      await expectTensor(g.db, rg.db, TOL.reduction, 'affine db');
      // The fused affine–ReLU sandwich against the reference sandwich.
      const rs = ref.affineReluForward(x, w, b);
      const rsg = ref.affineReluBackward(dout, rs.cache);
      const s = layers.affineReluForward(upload(engine, x), upload(engine, w), upload(engine, b));
      await expectTensor(s.out, rs.out, TOL.matmul, 'affine-relu out');
      const sg = layers.affineReluBackward(upload(engine, dout), s.cache);
      await expectTensor(sg.dx, rsg.dx, TOL.matmul, 'affine-relu dx');
      await expectTensor(sg.dw, rsg.dw, TOL.matmul, 'affine-relu dw');
      await expectTensor(sg.db, rsg.db, TOL.reduction, 'affine-relu db');
    },
  }) satisfies TestCase),
  {
    name: 'ReLU forward/backward match the reference (odd size, N = 1, 100k elements)',
    async run(engine) {
      const rng = new Random(7);
      for (const shape of [[1, 1], [3, 7, 11], [100, 1000]]) {
        const x = randn(rng, shape);
        const dout = randn(rng, shape);
        const { out, cache } = layers.reluForward(upload(engine, x));
        await expectTensor(out, ref.reluForward(x).out, TOL.elementwise, `relu out ${shape}`);
        const dx = layers.reluBackward(upload(engine, dout), cache);
        await expectTensor(dx, ref.reluBackward(dout, x), TOL.elementwise, `relu dx ${shape}`);
      }
    },
  },
  ...Object.entries(TILES).map(([tileName, tile]) => ({
    name: `matmul with ${tileName} tiles: NN, NT and TN at awkward shapes match float64`,
    async run(engine) {
      const rng = new Random(11);
      // A vec4 tile runs the vec4 kernel where the shapes allow (vec4Shapes) and the scalar one elsewhere.
      const shapes = tile.staging === 'vec4' ? [...vec4Shapes, ...matmulShapes] : matmulShapes;
      for (const [M, N, K] of shapes) {
        for (const [transA, transB] of [[false, false], [false, true], [true, false]] as const) {
          const a = randn(rng, transA ? [K, M] : [M, K]);
          const b = randn(rng, transB ? [N, K] : [K, N]);
          const [ga, gb] = [upload(engine, a), upload(engine, b)];
          const what = `${tileName} ${M}×${N}×${K} transA=${transA} transB=${transB}`;
          if (tile.staging === 'vec4') {
            expectTrue(vec4Applies(M, N, K, transA, transB, [ga, gb]) === vec4Shapes.some((s) => s.join() === [M, N, K].join()), `${what}: vec4 kernel taken`);
          }
          const c = matmul(engine, ga, gb, { transA, transB, tile });
          await expectTensor(c, refMatmul(a, b, transA, transB), TOL.matmul, what);
        }
      }
      // The epilogue: bias, then ReLU (the affine-ReLU forward), on a shape with partial edge tiles.
      const [M, N, K] = [tileName.startsWith('cpu') ? 33 : 68, 132, 36];
      const a = randn(rng, [M, K]);
      const b = randn(rng, [K, N]);
      const bias = randn(rng, [N]);
      const expected = refMatmul(a, b, false, false);
      for (let i = 0; i < M * N; i++) expected.data[i] = Math.max(0, expected.data[i]! + bias.data[i % N]!);
      const c = matmul(engine, upload(engine, a), upload(engine, b), { bias: upload(engine, bias), relu: true, tile });
      await expectTensor(c, expected, TOL.matmul, `${tileName} ${M}×${N}×${K} + bias, ReLU`);
    },
  }) satisfies TestCase),
  {
    name: 'ReLU keeps NaN as float64 does: the ReLU kernel, the matmul bias/ReLU epilogue on every kernel path, split-K',
    async run(engine) {
      // A NaN in the data must reach the loss (and stop training there), not turn into 0 at a ReLU:
      // max(NaN, 0) is 0 on GPUs and SwiftShader, where float64 (and PyTorch, tfjs) keep NaN.
      const rng = new Random(17);
      const x = randn(rng, [3, 7]);
      for (const i of [0, 8, 20]) x.data[i] = Number.NaN;
      const dout = randn(rng, [3, 7]);
      const { out, cache } = layers.reluForward(upload(engine, x));
      expectCloseOrNaN(await download(out), ref.reluForward(x).out.data, TOL.elementwise, 'relu out with NaN');
      expectCloseOrNaN(await download(layers.reluBackward(upload(engine, dout), cache)), ref.reluBackward(dout, x).data, TOL.elementwise, 'relu dx with NaN');
      // The epilogue: a NaN row of A and a NaN bias column; M, N, K multiples of 4 so the vec4 kernels run too.
      const [M, N, K] = [68, 132, 36];
      const a = randn(rng, [M, K]);
      const b = randn(rng, [K, N]);
      const bias = randn(rng, [N]);
      a.data[5 * K + 3] = Number.NaN;
      bias.data[7] = Number.NaN;
      const expected = refMatmul(a, b, false, false);
      for (let i = 0; i < M * N; i++) expected.data[i] = Math.max(0, expected.data[i]! + bias.data[i % N]!);
      const [ga, gb, gbias] = [upload(engine, a), upload(engine, b), upload(engine, bias)];
      for (const [tileName, tile] of Object.entries(TILES)) {
        for (const splitK of [1, 3]) {
          const c = matmul(engine, ga, gb, { bias: gbias, relu: true, tile, splitK });
          expectCloseOrNaN(await download(c), expected.data, TOL.matmul, `${tileName}, K in ${splitK} layers: ${M}×${N}×${K} + bias, ReLU, with NaN`);
          c.dispose();
        }
      }
    },
  },
  {
    name: 'split-K (K in layers, then summed) matches float64 on every kernel path, with the bias/ReLU epilogue and transposes',
    async run(engine) {
      const rng = new Random(13);
      const paths: Array<[string, MatmulTile]> = [
        ['cpu-direct', TILES['cpu-direct-wide 128×64']!],
        ['workgroup', TILES['workgroup 64×32, k 32']!],
        ['gpu-narrow', TILES['gpu-narrow 128×32']!],
        ['grouped', TILES['grouped 32×32, 4 groups along K, k 16']!],
        ['vec4 2 stages', TILES['gpu-vec4 32×128, k 24 (the large default\'s k-step), 2 stages']!],
        ['vec4 blocks', TILES['gpu-vec4 small 64×64, k 16, 2 stages, 4×4 blocks, a·b + c']!],
      ];
      // K = 200 in 3 layers of whole k-tiles (the last one shorter); 7 layers of K = 100 would leave
      // some empty with k-tiles of 24 or 32 (they are dropped); M, N, K multiples of 4 so the vec4
      // paths run, then M = N = 1 (the scalar kernel for every tile).
      for (const [name, tile] of paths) {
        const [pa, pb] = [upload(engine, randn(rng, [68, 200])), upload(engine, randn(rng, [200, 36]))];
        const probe = engine.capture(() => matmul(engine, pa, pb, { tile, splitK: 3 }), 'split-probe');
        expectTrue(probe.commands.length === 2, `${name}: a split product is two dispatches (layers, then their sum), got ${probe.commands.length}`);
        probe.result.dispose();
        probe.dispose();
        pa.dispose();
        pb.dispose();
        for (const [M, N, K, splitK] of [[68, 36, 200, 3], [12, 8, 100, 7], [36, 12, 96, 2], [1, 1, 100, 3]] as const) {
          for (const [transA, transB] of [[false, false], [false, true], [true, false]] as const) {
            const a = randn(rng, transA ? [K, M] : [M, K]);
            const b = randn(rng, transB ? [N, K] : [K, N]);
            const c = matmul(engine, upload(engine, a), upload(engine, b), { transA, transB, tile, splitK });
            await expectTensor(c, refMatmul(a, b, transA, transB), TOL.matmul, `${name} ${M}×${N}×${K} in ${splitK} layers transA=${transA} transB=${transB}`);
          }
        }
        const [M, N, K] = [36, 20, 120];
        const a = randn(rng, [M, K]);
        const b = randn(rng, [K, N]);
        const bias = randn(rng, [N]);
        const expected = refMatmul(a, b, false, false);
        for (let i = 0; i < M * N; i++) expected.data[i] = Math.max(0, expected.data[i]! + bias.data[i % N]!);
        const c = matmul(engine, upload(engine, a), upload(engine, b), { bias: upload(engine, bias), relu: true, tile, splitK: 4 });
        await expectTensor(c, expected, TOL.matmul, `${name} ${M}×${N}×${K} in 4 layers + bias, ReLU`);
      }
    },
  },
  {
    name: 'matmul keeps a NaN of A in its row and of B in its column on every kernel path (loads past K read zeros, not the next row of A or column of Bᵀ)',
    async run(engine) {
      // Past the end of K (a partial last k-tile: K = 36 or 37 with k-tiles of 8…32) a load that skipped
      // its k bound would read the next row of A (stored M×K) or the next column of B (stored N×K). The
      // zero it meets on the other side hides that — unless the value is NaN (0·NaN = NaN): NaN at k = 0.
      const rng = new Random(19);
      const paths: Array<[string, MatmulTile]> = [
        ['cpu-direct', TILES['cpu-direct-narrow 64×32']!],
        ['workgroup', TILES['workgroup 64×32, k 32']!],
        ['gpu-scalar k 16', TILES['gpu-scalar 64×64, k 16']!],
        ['grouped', TILES['grouped 32×64, 2 groups along K, k 8']!],
        ['vec4 2 stages', TILES['gpu-vec4 32×128, k 24 (the large default\'s k-step), 2 stages']!],
        ['vec4 blocks', TILES['gpu-vec4 small 64×64, k 16, 2 stages, 4×4 blocks, a·b + c']!],
      ];
      for (const [M, N, K] of [[68, 132, 36], [67, 130, 37]] as const) {
        for (const [transA, transB] of [[false, false], [false, true], [true, false]] as const) {
          const a = randn(rng, transA ? [K, M] : [M, K]);
          const b = randn(rng, transB ? [N, K] : [K, N]);
          // k = 0 of rows 6 and 41 of A and of columns 9 and 70 of B where they are stored along K; each one's last element.
          if (!transA) for (const r of [6, 41]) a.data[r * K] = Number.NaN;
          if (transB) for (const c of [9, 70]) b.data[c * K] = Number.NaN;
          a.data[a.data.length - 1] = Number.NaN;
          b.data[b.data.length - 1] = Number.NaN;
          const expected = refMatmul(a, b, transA, transB);
          const [ga, gb] = [upload(engine, a), upload(engine, b)];
          for (const [name, tile] of paths) {
            const c = matmul(engine, ga, gb, { transA, transB, tile, splitK: 1 });
            expectCloseOrNaN(await download(c), expected.data, TOL.matmul, `${name}: ${M}×${N}×${K} transA=${transA} transB=${transB} with NaN`);
            c.dispose();
          }
          ga.dispose();
          gb.dispose();
        }
      }
    },
  },
  {
    name: 'matmul writes into a given `out` (a view of a slab) on every kernel path, split-K included, and columnSum into a given vector; outputs that cannot work are refused first',
    async run(engine) {
      const rng = new Random(23);
      const [M, K, N] = [36, 120, 20];
      const a = randn(rng, [K, M]);
      const b = randn(rng, [K, N]);
      const expected = refMatmul(a, b, true, false);
      const [ga, gb] = [upload(engine, a), upload(engine, b)];
      // The gradient layout: dW = xᵀ·dout into a view that does not start the slab, db beside it.
      const slab = engine.slab({ first: [3], dw: [M, N], db: [N] }, 'test.out');
      const paths: Array<[string, MatmulTile | undefined, number | undefined]> = [
        ['the default', undefined, undefined],
        ['vec4 2 stages', TILES["gpu-vec4 32×128, k 24 (the large default's k-step), 2 stages"]!, 1],
        ['split-K', TILES['gpu-scalar 64×64, k 16']!, 3],
        ['cpu-direct', TILES['cpu-direct-narrow 64×32']!, 1],
      ];
      const nans = engine.tensor(new Float32Array(M * N).fill(Number.NaN), [M, N]);
      for (const [name, tile, splitK] of paths) {
        engine.copy(nans, slab.views.dw!); // each path must write every element itself
        const c = matmul(engine, ga, gb, { transA: true, out: slab.views.dw, tile, splitK });
        expectTrue(c === slab.views.dw, `${name}: the result is out`);
        await expectTensor(c, expected, TOL.matmul, `${name}: Aᵀ·B into out`);
        expectTrue((await slab.views.first!.read()).every((v) => v === 0), `${name}: nothing written before out in its slab`);
      }
      nans.dispose();
      const sums = columnSum(engine, gb, K, N, slab.views.db);
      expectTrue(sums === slab.views.db, 'columnSum returns its target');
      const colSums = new Float64Array(N);
      for (let i = 0; i < K * N; i++) colSums[i % N] += b.data[i]!;
      expectClose(await download(sums), colSums, TOL.reduction, 'column sums into their view');
      const [squareK, squareN] = [upload(engine, randn(rng, [K, K])), upload(engine, randn(rng, [N, N]))];
      const ints = engine.tensor(new Int32Array(M * N), [M, N]);
      const dispatches = engine.stats().dispatches;
      const wrong: Array<[() => unknown, RegExp, string]> = [
        [() => matmul(engine, ga, gb, { transA: true, out: slab.views.db }), /out must be an f32 tensor of 36×20 = 720 elements, got f32 \[20\]/, 'out of the wrong size'],
        [() => matmul(engine, ga, gb, { transA: true, out: ints }), /out must be an f32 tensor .* got i32 \[36, 20\]/, 'an i32 out'],
        [() => matmul(engine, ga, gb, { transA: true, out: slab.views.dw, outShape: [M * N] }), /give out or outShape, not both/, 'out and outShape'],
        [() => matmul(engine, gb, squareN, { out: gb }), /matmul: out shares its GPU buffer with A/, 'out = A'],
        [() => matmul(engine, squareK, gb, { out: gb }), /matmul: out shares its GPU buffer with B/, 'out = B'],
        [() => columnSum(engine, gb, K, N, slab.views.first), /columnSum: into must be an f32 tensor of 20 elements, got f32 \[3\]/, 'columnSum into the wrong size'],
        [() => columnSum(engine, slab.views.dw!, M, N, slab.views.db), /columnSum: into \[20\] shares its GPU buffer with x \[36, 20\]/, 'columnSum into its own slab'],
      ];
      for (const [call, pattern, what] of wrong) await expectThrows(call, pattern, what);
      expectTrue(engine.stats().dispatches === dispatches, 'a refused output recorded no dispatch');
      for (const t of [ga, gb, squareK, squareN, ints, slab.flat, ...Object.values(slab.views)]) t.dispose();
    },
  },
  {
    name: 'matmul tile options that cannot work are refused before any GPU work, the option named',
    async run(engine) {
      const a = engine.tensor(new Float32Array(64), [8, 8]);
      const base: MatmulTile = { wgX: 16, wgY: 16, rows: 4, cols4: 1, tileK: 16, staging: 'vec4', stages: 2 };
      const refused: Array<[Partial<MatmulTile>, RegExp]> = [
        [{ unroll: 5 }, /unroll 5 does not divide tileK 16/],
        [{ unroll: 0 }, /unroll 0 does not divide tileK 16/],
        [{ halves: true, stages: 1 }, /halves needs 2 stages/],
        [{ halves: true, unroll: 8 }, /halves needs the whole k-tile unrolled/],
        [{ ahead: true, unroll: 8 }, /ahead needs the whole k-tile unrolled/],
        [{ pairStages: true, stages: 1 }, /pairStages needs 2 stages/],
        [{ swizzle: 1.5 }, /swizzle 1.5 is not a whole number of tile-rows/],
        [{ swizzle: -2 }, /swizzle -2 is not a whole number of tile-rows/],
        [{ swizzle: 65536 }, /swizzle 65536 is not a whole number of tile-rows from 0 to 65535/],
        [{ tileK: 10 }, /tileK 10 is not a multiple of 4/],
        [{ warpX: 3 }, /warpX 3 does not tile/],
        [{ rows: 6 }, /rows must be a multiple of 4, got 6/],
        [{ kGroups: 2 }, /kGroups 2 needs the 'workgroup' staging, got 'vec4'/],
        [{ kGroups: 0, staging: 'workgroup' }, /kGroups must be a whole number ≥ 1, got 0/],
      ];
      await expectThrows(() => matmul(engine, a, a, { splitK: 0 }), /splitK must be a whole number of layers ≥ 1, got 0/, 'splitK 0');
      await expectThrows(() => matmul(engine, a, a, { splitK: 2.5 }), /splitK must be a whole number of layers ≥ 1, got 2.5/, 'splitK 2.5');
      for (const [change, pattern] of refused) {
        await expectThrows(() => matmul(engine, a, a, { tile: { ...base, ...change } }), pattern, `tile ${JSON.stringify(change)}`);
      }
      a.dispose();
    },
  },
  {
    name: 'matmul at 1000×3000 · 3000×500 (and its transposes) matches float64',
    timeout: 600_000,
    async run(engine) {
      const rng = new Random(5);
      const [M, K, N] = [1000, 3000, 500];
      const a = randn(rng, [M, K]);
      const b = randn(rng, [K, N]);
      const expected = refMatmul(a, b, false, false);
      const ga = upload(engine, a);
      const gb = upload(engine, b);
      await expectTensor(matmul(engine, ga, gb), expected, TOL.matmul, 'matmul 1000×3000×500');
      // The backward products of an affine layer with this shape: dout·Wᵀ and xᵀ·dout.
      const dout = randn(rng, [M, N]);
      const gd = upload(engine, dout);
      await expectTensor(matmul(engine, gd, gb, { transB: true }), refMatmul(dout, b, false, true), TOL.matmul, 'NT 1000×500×3000');
      await expectTensor(matmul(engine, ga, gd, { transA: true }), refMatmul(a, dout, true, false), TOL.matmul, 'TN 3000×1000×500');
    },
  },
  {
    name: 'column sums and whole sums match float64 (1 row, odd sizes, 60000 rows)',
    async run(engine) {
      const { columnSum, sumAll } = await import('../../src/kernels/reduce');
      const rng = new Random(3);
      for (const [R, C] of [[1, 1], [1, 70], [37, 65], [60000, 10]] as const) {
        const x = randn(rng, [R, C], 1, 0.5); // mean 0.5: sums that do not cancel to ~0
        const expected = new Float64Array(C);
        for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) expected[c] += x.data[r * C + c]!;
        const gx = upload(engine, x);
        expectClose(await download(columnSum(engine, gx, R, C)), expected, TOL.reduction, `column sum ${R}×${C}`);
        const total = x.data.reduce((a, v) => a + v, 0);
        const squares = x.data.reduce((a, v) => a + v * v, 0);
        expectClose([await sumAll(engine, gx, { scale: 0.5 }).item()], [0.5 * total], TOL.reduction, `sum ${R}×${C}`);
        expectClose([await sumAll(engine, gx, { square: true }).item()], [squares], TOL.reduction, `sum of squares ${R}×${C}`);
      }
    },
  },
];
