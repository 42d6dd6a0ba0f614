// Matmul tile sweep: GFLOP/s of candidate tile shapes at large square sizes (for tuning chooseTile on a GPU).

import { Engine } from '../src/engine/engine';
import { matmul, tileInvocations, tileM, tileN, workgroupBytes, type MatmulTile } from '../src/kernels/matmul';
import { Random } from '../src/random';

// Round 1 (H100, 2026-11-26: bench/results/h100-2026-11-26-matmul-vec4-tiles.json) swept the vec4
// kernel's stages, k-steps, padding, warp shapes and tile sizes: a longer k-step won (k32, one stage:
// 36.0 TFLOP/s at 4096 against 26.7 for the scalar kernel), a·b + c beat fma() by 4%, stages, padding
// and warp shape did not matter. Round 2 (…-round2.json) found 4×4-block staging 13% slower at
// 128×128 and 128×256 (8×16 per invocation, k16, blocks) the fastest at 4096 (37.3). Round 3
// (…-round3.json): two stages of k24 (exactly 48 KiB) reached 39.2; longer one-stage k-steps lost
// (k40 35.2, k48 32.0: more registers wait for the next tile), partial unrolling lost 5–7%, 128-
// invocation workgroups lost half, and 128×256 without blocks reached 38.6 (41.1 with Dawn's
// robustness off). bench/README.md has the tables. Round 4 (…-round4.json) worked around two
// stages of k24: fetching the next tile in halves (fewer registers) lost 14% (38.3 at k20, where it
// won), 8×4 warps and fma() lost 11–12%, 128 invocations lost 43%; two stages of k24 stayed the
// best (39.2). Round 5, below, not yet run on a GPU: schedule options around the three best, each
// the same arithmetic — operands read from workgroup memory a k-step ahead of their multiply-adds
// (`ahead`), the multiply-adds column by column (`byColumn`), the k-loop written out once per
// stage so every workgroup-memory index is a constant (`pairStages`, "pairs" below), and the output
// walked in bands of tile-rows (`swizzle`: the workgroups in flight share panels of A and B in L2).
// Each option is swept beside its own baseline in the same run (rates drift ~10% between runs).
// One stage and a·b + c unless named.
const v4 = (tile: Omit<MatmulTile, 'staging'>): MatmulTile => ({ stages: 1, fma: false, ...tile, staging: 'vec4' });
const large: Omit<MatmulTile, 'staging'> = { wgX: 16, wgY: 16, rows: 8, cols4: 2, tileK: 24, pad: 0, stages: 2 };
const wide: Omit<MatmulTile, 'staging'> = { wgX: 16, wgY: 16, rows: 8, cols4: 4, tileK: 24, pad: 0 };
const small: Omit<MatmulTile, 'staging'> = { wgX: 16, wgY: 16, rows: 4, cols4: 1, tileK: 16, stages: 2, block: true };
export const CANDIDATES: Record<string, MatmulTile> = {
  'vec4 128x128 k24 s2 pad0 (large default)': v4(large),
  'vec4 64x64 k16 s2 block (small default)': v4(small),
  'vec4 128x256 k24 pad0': v4(wide),
  'vec4 128x128 k24 s2 pad0 ahead': v4({ ...large, ahead: true }),
  'vec4 128x128 k24 s2 pad0 bycol': v4({ ...large, byColumn: true }),
  'vec4 128x128 k24 s2 pad0 ahead bycol': v4({ ...large, ahead: true, byColumn: true }),
  'vec4 128x128 k24 s2 pad0 pairs': v4({ ...large, pairStages: true }),
  'vec4 128x128 k24 s2 pad0 pairs ahead': v4({ ...large, pairStages: true, ahead: true }),
  'vec4 128x128 k24 s2 pad0 swizzle8': v4({ ...large, swizzle: 8 }),
  'vec4 128x128 k24 s2 pad0 swizzle16': v4({ ...large, swizzle: 16 }),
  'vec4 128x128 k24 s2 pad0 ahead swizzle8': v4({ ...large, ahead: true, swizzle: 8 }),
  'vec4 128x128 k20 s2 split': v4({ ...large, tileK: 20, pad: 1, halves: true }),
  'vec4 128x128 k20 s2 split ahead': v4({ ...large, tileK: 20, pad: 1, halves: true, ahead: true }),
  'vec4 128x128 k32': v4({ ...large, tileK: 32, pad: 1, stages: 1 }),
  'vec4 128x128 k32 ahead': v4({ ...large, tileK: 32, pad: 1, stages: 1, ahead: true }),
  'vec4 128x256 k24 pad0 ahead': v4({ ...wide, ahead: true }),
  'vec4 128x256 k24 pad0 swizzle8': v4({ ...wide, swizzle: 8 }),
  'vec4 128x256 k16 s2 pad0': v4({ ...wide, tileK: 16, stages: 2 }),
  'vec4 128x256 k16 s2 pad0 ahead': v4({ ...wide, tileK: 16, stages: 2, ahead: true }),
  'vec4 128x256 k16 s2 pad0 pairs': v4({ ...wide, tileK: 16, stages: 2, pairStages: true }),
  'vec4 64x64 k16 s2 block ahead': v4({ ...small, ahead: true }),
  'vec4 64x64 k16 s2 block swizzle8': v4({ ...small, swizzle: 8 }),
};

export interface TileRow {
  tile: string;
  size: number;
  ms: number;
  gflops: number;
  relError: number;
}

/** Times each candidate at each size (GPU timestamps when available); checks each against a CPU product first. */
export async function sweep(engine: Engine, sizes: number[], log: (line: string) => void, only?: string[]): Promise<TileRow[]> {
  const rows: TileRow[] = [];
  const rng = new Random(1);
  // Correctness first, at a shape no tile divides (multiples of 4, so the vec4 kernel runs too), in
  // the three layouts an affine layer uses: A·B, A·(Bᵀ)ᵀ and (Aᵀ)ᵀ·B give the same product.
  const [m, k, n] = [260, 300, 132];
  const a = rng.normals(m * k);
  const b = rng.normals(k * n);
  const expected = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) expected[i * n + j] += a[i * k + p]! * b[p * n + j]!;
  const transposed = (x: Float32Array, rows: number, cols: number) => {
    const out = new Float32Array(x.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
    return out;
  };
  const ta = engine.tensor(a, [m, k]);
  const tb = engine.tensor(b, [k, n]);
  const taT = engine.tensor(transposed(a, m, k), [k, m]);
  const tbT = engine.tensor(transposed(b, k, n), [n, k]);
  const layouts = [
    { x: ta, y: tb, transA: false, transB: false },
    { x: ta, y: tbT, transA: false, transB: true },
    { x: taT, y: tb, transA: true, transB: false },
  ];
  const errors: Record<string, number> = {};
  const candidates = Object.entries(CANDIDATES).filter(([name]) => !only || only.includes(name));
  if (only && candidates.length === 0) throw new Error(`--only ${only.join(',')}: names no candidate`);
  for (const [name, tile] of candidates) {
    if (workgroupBytes(tile) > engine.limits.maxComputeWorkgroupStorageSize || tileInvocations(tile) > engine.limits.maxComputeInvocationsPerWorkgroup) {
      log(`${name}: does not fit this device's limits, skipped`);
      continue;
    }
    let worst = 0;
    for (const { x, y, transA, transB } of layouts) {
      const got = await matmul(engine, x, y, { tile, transA, transB }).read();
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < got.length; i++) {
        diff += (got[i]! - expected[i]!) ** 2;
        norm += expected[i]! ** 2;
      }
      worst = Math.max(worst, Number.isNaN(diff) ? Infinity : Math.sqrt(diff / norm));
    }
    errors[name] = worst;
  }
  for (const size of sizes) {
    const A = engine.tensor(rng.normals(size * size), [size, size]);
    const B = engine.tensor(rng.normals(size * size), [size, size]);
    const steps = new Map<string, ReturnType<typeof engine.capture<unknown>>>();
    for (const [name, tile] of candidates) {
      if (name in errors) steps.set(name, engine.capture(() => matmul(engine, A, B, { tile }), 'tiles'));
    }
    // Two rounds over every candidate (the first also warms the clocks up); each candidate's time is
    // the best median of its rounds: 7 back-to-back replays per sample, wall clock around the sync.
    const best = new Map<string, number>();
    for (let round = 0; round < 2; round++) {
      for (const [name, step] of steps) {
        const times: number[] = [];
        for (let r = 0; r < 5; r++) {
          await engine.sync();
          const t0 = performance.now();
          for (let i = 0; i < 7; i++) step.replay();
          await engine.sync();
          times.push((performance.now() - t0) / 7);
        }
        times.sort((x, y) => x - y);
        best.set(name, Math.min(best.get(name) ?? Infinity, times[2]!));
      }
    }
    for (const [name, step] of steps) {
      const tile = CANDIDATES[name]!;
      const ms = best.get(name)!;
      const row = { tile: `${name} (${tileM(tile)}x${tileN(tile)})`, size, ms, gflops: (2 * size ** 3) / ms / 1e6, relError: errors[name]! };
      rows.push(row);
      log(`${String(size).padStart(5)}  ${row.tile.padEnd(40)} ${ms.toFixed(3).padStart(9)} ms  ${row.gflops.toFixed(0).padStart(7)} GFLOP/s  (worst rel. error of NN, NT, TN ${row.relError.toExponential(1)})`);
      (step.result as { dispose(): void }).dispose();
      step.dispose();
    }
    A.dispose();
    B.dispose();
  }
  // Each option against its baseline from the same run (rates drift between runs).
  const pairs = candidates.map(([name]) => [name, baselineOf(name, candidates.map(([n]) => n))] as const).filter(([, base]) => base);
  if (pairs.length) log('against the baseline in this run (its rate / the baseline\'s, per size):');
  for (const [name, base] of pairs) {
    const at = (n: string, size: number) => rows.find((r) => r.size === size && r.tile.startsWith(`${n} (`))?.gflops;
    const ratios = sizes.map((size) => {
      const [x, y] = [at(name, size), at(base!, size)];
      return x && y ? `${(x / y).toFixed(2)}×` : '—';
    });
    log(`  ${name.padEnd(44)} vs ${base!.padEnd(44)} ${ratios.join('  ')}`);
  }
  return rows;
}

/**
 * The candidate a name's last option words are added to: the name without them, word by word from
 * the end, ignoring "(… default)" labels ('vec4 128x128 k24 s2 pad0 ahead swizzle8' → '… pad0 ahead').
 */
export function baselineOf(name: string, names: readonly string[]): string | undefined {
  const bare = (n: string) => n.replace(/ \([a-z ]+ default\)$/, '');
  const words = bare(name).split(' ');
  for (let cut = words.length - 1; cut >= 2; cut--) {
    const prefix = words.slice(0, cut).join(' ');
    const found = names.find((n) => n !== name && bare(n) === prefix);
    if (found) return found;
  }
  return undefined;
}

/**
 * `--tiles [--sizes 1024,2048,4096] [--only NAME,NAME] [--dawn TOGGLES] [--json FILE]` (--only: the
 * candidates of these names); `--tiles --split [--filter TEXT] [--json FILE]`: the split-K sweep
 * instead (--filter: the cases whose names contain TEXT).
 */
export async function main(args: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const sizes = (arg('sizes') ?? '1024,2048,4096').split(',').map(Number);
  // --dawn 'enable-dawn-features=…': Dawn toggles to compare (e.g. disable_robustness).
  const dawn = arg('dawn');
  const engine = await Engine.create(dawn ? { dawnOptions: [dawn] } : {});
  if (dawn) console.log(`dawn options: ${dawn}`);
  const { vendor, architecture, description } = engine.adapterInfo;
  console.log(`adapter: ${vendor} ${architecture} ${description}`);
  const only = arg('only')?.split(',');
  const rows = args.includes('--split') ? await splitSweep(engine, (line) => console.log(line), arg('filter')) : await sweep(engine, sizes, (line) => console.log(line), only);
  const json = arg('json');
  if (json) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(json, JSON.stringify({ adapter: engine.adapterInfo, rows }, null, 1));
  }
  engine.destroy();
}

export interface SplitRow {
  case: string;
  tile: string;
  splitK: number;
  /** Sum of the product's dispatches' GPU timestamps (median of 7 profiles); null without timestamps. */
  gpuUs: number | null;
  /** Wall clock per product, 50 replays queued back to back. */
  wallUs: number;
  /** Relative difference to the unsplit product with the default tile. */
  relDiff: number;
}

/**
 * `--split`: the training step's products (and small squares) with each tile and split-K layer count,
 * timed by GPU timestamps (for choosing chooseSplit's thresholds on a GPU).
 */
export async function splitSweep(engine: Engine, log: (line: string) => void, filter?: string): Promise<SplitRow[]> {
  const { stepMatmuls, squareMatmul } = await import('./lib/cases');
  const rng = new Random(2);
  const cases = [...stepMatmuls(256), squareMatmul(256), squareMatmul(512), ...stepMatmuls(64).slice(0, 3)].filter((c) => !filter || c.name.includes(filter));
  // Round 1 (H100, bench/results/h100-2026-11-26-split-k.json) set chooseSplit's thresholds and the
  // 32×32 tile for short K. Round 2 (…-split-k-round2.json) tried shorter chains for the small
  // products (32×32 tiles at k 32 or 64, the scalar kernel at k 64, operands straight from storage):
  // none beat the policy by more than the run's clock drift. Round 3, below: K split inside the
  // workgroup (`grouped`) for the N ≤ 32 products against the narrow tile split across workgroups.
  const tiles: Array<[string, MatmulTile | undefined]> = [
    ['default', undefined],
    ['narrow 128x32', { wgX: 8, wgY: 32, rows: 4, cols4: 1, tileK: 16 }],
    ['grouped 32x32 g4 k16', { wgX: 8, wgY: 8, rows: 4, cols4: 1, tileK: 16, kGroups: 4 }],
    ['grouped 16x32 g8 k8', { wgX: 8, wgY: 4, rows: 4, cols4: 1, tileK: 8, kGroups: 8 }],
    ['grouped 32x32 g2 k16', { wgX: 8, wgY: 8, rows: 4, cols4: 1, tileK: 16, kGroups: 2 }],
  ];
  const rows: SplitRow[] = [];
  for (const c of cases) {
    const A = engine.tensor(rng.normals(c.M * c.K), c.transA ? [c.K, c.M] : [c.M, c.K]);
    const B = engine.tensor(rng.normals(c.K * c.N), c.transB ? [c.N, c.K] : [c.K, c.N]);
    const options = { transA: c.transA, transB: c.transB };
    const reference = await matmul(engine, A, B, { ...options, splitK: 1 }).read();
    for (const [tileName, tile] of tiles) {
      for (const splitK of [1, 2, 4, 8, 16, 0]) {
        const split = splitK === 0 ? undefined : splitK;
        const got = await matmul(engine, A, B, { ...options, tile, splitK: split }).read();
        let diff = 0;
        let norm = 0;
        for (let i = 0; i < got.length; i++) {
          diff += (got[i]! - reference[i]!) ** 2;
          norm += reference[i]! ** 2;
        }
        const step = engine.capture(() => matmul(engine, A, B, { ...options, tile, splitK: split }), 'split');
        let gpuUs: number | null = null;
        if (engine.features.has('timestamp-query')) {
          const samples: number[] = [];
          for (let r = 0; r < 7; r++) samples.push((await engine.profile(step)).reduce((a, t) => a + t.ms, 0) * 1000);
          samples.sort((x, y) => x - y);
          gpuUs = samples[3]!;
        }
        await engine.sync();
        const t0 = performance.now();
        for (let i = 0; i < 50; i++) step.replay();
        await engine.sync();
        const wallUs = ((performance.now() - t0) / 50) * 1000;
        const row = { case: c.name, tile: tileName, splitK: split ?? -step.commands.length, gpuUs, wallUs, relDiff: Math.sqrt(diff / norm) };
        rows.push(row);
        log(`${c.name.padEnd(28)} ${tileName.padEnd(14)} split ${split ?? `default (${step.commands.length} dispatches)`}`.padEnd(70) + ` ${gpuUs === null ? '' : `${gpuUs.toFixed(1).padStart(7)} µs (t)`} ${wallUs.toFixed(1).padStart(7)} µs (w)  rel. diff ${row.relDiff.toExponential(1)}`);
        (step.result as { dispose(): void }).dispose();
        step.dispose();
      }
    }
    A.dispose();
    B.dispose();
  }
  return rows;
}
