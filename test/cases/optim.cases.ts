// Optimizer cases: the course's one-step arrays, float64 references over several steps, slabs, capture/replay, errors.

import { optim } from '../../src/index';
import type { Engine } from '../../src/engine/engine';
import type { Tensor } from '../../src/tensor';
import { Random } from '../../src/random';
import { courseRelError, relativeError } from '../../src/reference/gradcheck';
import { linspace } from '../../src/reference/ndarray';
import { type RefOptimConfig, type RefRule, refUpdate } from '../../src/reference/optim';
import { TOL, type TestCase, download, expectClose, expectThrows, expectTrue } from '../harness/check';

type RuleName = optim.UpdateRuleName;
const RULES: readonly RuleName[] = ['sgd', 'sgdMomentum', 'sgdNesterovMomentum', 'rmsprop', 'adam'];
const STATE: Record<RuleName, readonly ('velocity' | 'cache' | 'm' | 'v')[]> = {
  sgd: [],
  sgdMomentum: ['velocity'],
  sgdNesterovMomentum: ['velocity'],
  rmsprop: ['cache'],
  adam: ['m', 'v'],
};
/** SPEC.md's defaults (Adam's t after one step from the default 0 is 1). */
const DEFAULTS: Record<RuleName, Record<string, number>> = {
  sgd: { learningRate: 1e-2 },
  sgdMomentum: { learningRate: 1e-2, momentum: 0.9 },
  sgdNesterovMomentum: { learningRate: 1e-2, momentum: 0.9 },
  rmsprop: { learningRate: 1e-2, decayRate: 0.99, epsilon: 1e-8 },
  adam: { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, t: 1 },
};

/**
 * A step is judged on what it changed, not only on w: ‖Δw_gpu − Δw_ref‖/‖Δw_ref‖ ≤ this. Δw_gpu is
 * a difference of f32 values of size ~1–3, so it carries up to ~1.2e-7/|Δw| of rounding: 1.2e-4 for
 * Adam's default steps of ~1e-3. A wrong bias correction, sign or (1 − β) shows as 1e-2 or more.
 */
const STEP_TOL = 1e-3;

/** Float64 copies of f32-rounded normal samples: the GPU and the reference start from the same values. */
function f32Normals(rng: Random, n: number, std = 1, mean = 0): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(mean + std * rng.normal());
  return out;
}

function run(rule: RuleName, w: Tensor, dw: Tensor, config: optim.OptimConfig) {
  return optim.updateWith(rule, w, dw, config);
}

/** The float64 reference's state array for a state key. */
function refState(config: RefOptimConfig, key: (typeof STATE)[RuleName][number]): Float64Array {
  return config[key]!;
}

function stepError(w1: ArrayLike<number>, w0: ArrayLike<number>, ref1: ArrayLike<number>): number {
  const dGpu = Float64Array.from(w1, (v, i) => v - w0[i]!);
  const dRef = Float64Array.from(ref1, (v, i) => v - w0[i]!);
  return relativeError(dGpu, dRef);
}

/** Errors reached on the course's arrays, kept for whoever reports them (the cases assert the bounds). */
export const COURSE_ERRORS: Record<string, { rel: number; courseRel: number; inputsOnly: number }> = {};

/** A reference config whose state arrays hold f32-rounded values (what the GPU starts from). */
function roundedConfig(config: RefOptimConfig): RefOptimConfig {
  const out: RefOptimConfig = { ...config };
  for (const key of ['velocity', 'cache', 'm', 'v'] as const) if (config[key]) out[key] = Float64Array.from(config[key], Math.fround);
  return out;
}

/** The course's arrays: np.linspace(lo, hi, num=N*D).reshape(N, D), N, D = 4, 5. */
const course = (lo: number, hi: number) => linspace(lo, hi, 20);

async function courseCase(
  engine: Engine,
  rule: 'sgdMomentum' | 'rmsprop' | 'adam',
  config: optim.OptimConfig,
  refConfig: RefOptimConfig,
  expected: Record<string, number[]>,
): Promise<void> {
  const w0 = course(-0.4, 0.6);
  const dw0 = course(-0.6, 0.4);
  const w = engine.tensor(w0, [4, 5]);
  const dw = engine.tensor(dw0, [4, 5]);
  const refConfig0 = { ...refConfig, ...Object.fromEntries(STATE[rule].map((k) => [k, Float64Array.from(refConfig[k]!)])) };
  const { nextW } = run(rule, w, dw, config);
  // The float64 reference must agree with the published arrays (the SPEC formulas are the course's).
  const refW = Float64Array.from(w0);
  refUpdate(rule, refW, dw0, refConfig);
  const got: Record<string, ArrayLike<number>> = { nextW: await nextW.read() };
  const ref: Record<string, ArrayLike<number>> = { nextW: refW };
  for (const key of Object.keys(expected)) {
    if (key === 'nextW') continue;
    got[key] = await (config[key as keyof optim.OptimConfig] as Tensor).read();
    ref[key] = refConfig[key as keyof RefOptimConfig] as Float64Array;
  }
  // What f32 allows: the same float64 step from the f32-rounded inputs the GPU sees.
  const f32Ref = Float64Array.from(w0, Math.fround);
  const f32RefConfig = roundedConfig(refConfig0);
  refUpdate(rule, f32Ref, Float64Array.from(dw0, Math.fround), f32RefConfig);
  for (const [key, published] of Object.entries(expected)) {
    // Published to 8 decimals: the float64 reference rounds to them, ± 5e-9.
    const refVsPublished = Math.max(...Array.from(ref[key]!, (v, i) => Math.abs(v - published[i]!)));
    expectTrue(refVsPublished <= 5.01e-9, `${rule} ${key}: the float64 reference differs from the published array by ${refVsPublished}`);
    const rel = relativeError(got[key]!, published);
    const courseRel = courseRelError(got[key]!, published);
    const inputsOnly = courseRelError(key === 'nextW' ? f32Ref : (f32RefConfig[key as keyof RefOptimConfig] as Float64Array), published);
    COURSE_ERRORS[`${rule} ${key}`] = { rel, courseRel, inputsOnly };
    expectTrue(rel < 1e-6, `${rule} ${key}: relative error ${rel} vs the published array`);
    // The course's rel_error < 1e-7. One exception f32 forces: momentum's next_w[0] = −0.4 + 0.5406
    // cancels, and μ·v rounded to f32 at 0.54 costs 1.3e-7 of it where fma is not fused (9.8e-8 on
    // SwiftShader, which fuses).
    const bound = rule === 'sgdMomentum' && key === 'nextW' ? 1.5e-7 : 1e-7;
    expectTrue(courseRel < bound, `${rule} ${key}: the course's rel_error ${courseRel} (f32 inputs alone give ${inputsOnly})`);
    expectClose(got[key]!, ref[key]!, 1e-6, `${rule} ${key} vs float64`);
  }
  [w, dw].forEach((t) => t.dispose());
  for (const key of STATE[rule]) (config[key] as Tensor).dispose();
}

/** Each rule from an empty config: float64 reference over several steps, defaults, state, in place, allocation. */
function referenceCase(rule: RuleName): TestCase {
  return {
    name: `optim ${rule} matches float64 over several steps at sizes 1, 7, 1000 and 3,000,000 (defaults, state, in place, one dispatch)`,
    timeout: 240_000,
    async run(engine) {
      const rng = new Random(RULES.indexOf(rule) + 40);
      for (const n of [1, 7, 1000, 3_000_000]) {
        const big = n > 100_000;
        const steps = big ? 3 : 4;
        const shape = n === 7 ? [7, 1] : [n];
        const w0 = f32Normals(rng, n);
        const grads = Array.from({ length: steps }, () => f32Normals(rng, n, 0.5, 0.1));
        const w = engine.tensor(w0, shape);
        const dws = grads.map((g) => engine.tensor(g, shape));
        const config: optim.OptimConfig = {};
        const refW = Float64Array.from(w0);
        const refConfig: RefOptimConfig = {};
        let before = Float64Array.from(w0);
        let afterFirst = engine.stats();
        for (let s = 0; s < steps; s++) {
          const dispatches = engine.stats().dispatches;
          const { nextW, config: returned } = run(rule, w, dws[s]!, config);
          expectTrue(engine.stats().dispatches === dispatches + 1, `${rule} n=${n}: ${engine.stats().dispatches - dispatches} dispatches, expected 1`);
          expectTrue(nextW === w && returned === config, `${rule}: nextW is not w, or config is not the object passed in`);
          refUpdate(rule, refW, grads[s]!, refConfig);
          if (s === 0) {
            for (const [key, value] of Object.entries(DEFAULTS[rule])) {
              expectTrue((config as Record<string, unknown>)[key] === value, `${rule}: config.${key} = ${String((config as Record<string, unknown>)[key])}, expected the default ${value}`);
            }
            for (const key of STATE[rule]) {
              const t = config[key];
              expectTrue(!!t && t.shape.join() === shape.join() && t.dtype === 'f32', `${rule}: config.${key} was not created shaped like w`);
            }
            await engine.sync();
            afterFirst = engine.stats();
          }
          if (!big || s === steps - 1) {
            const got = await download(w);
            const what = `${rule} n=${n} step ${s + 1}`;
            expectClose(got, refW, TOL.elementwise, `${what}: w`);
            if (s === steps - 1 || n < 100) expectTrue(stepError(got, before, refW) <= STEP_TOL, `${what}: the step's change is off by ${stepError(got, before, refW)}`);
            for (const key of STATE[rule]) expectClose(await download(config[key]!), refState(refConfig, key), TOL.elementwise, `${what}: ${key}`);
            before = Float64Array.from(refW);
          }
        }
        if (rule === 'adam') expectTrue(config.t === steps, `adam: t = ${config.t} after ${steps} steps`);
        await engine.sync();
        const after = engine.stats();
        for (const key of ['buffersCreated', 'liveBuffers', 'pipelines'] as const) {
          expectTrue(after[key] === afterFirst[key], `${rule} n=${n}: ${key} ${afterFirst[key]} → ${after[key]} after the first step`);
        }
        [w, ...dws].forEach((t) => t.dispose());
        for (const key of STATE[rule]) config[key]!.dispose();
      }
    },
  };
}

export const cases: TestCase[] = [
  {
    name: "optim sgdMomentum reproduces the course's one-step arrays (next_w, velocity)",
    async run(engine) {
      const velocity = engine.tensor(course(0.6, 0.9), [4, 5]);
      await courseCase(engine, 'sgdMomentum', { learningRate: 1e-3, velocity }, { learningRate: 1e-3, velocity: course(0.6, 0.9) }, {
        nextW: [
          0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789, 0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526,
          0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263, 1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096,
        ],
        velocity: [
          0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158, 0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105,
          0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053, 0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096,
        ],
      });
    },
  },
  {
    name: "optim rmsprop reproduces the course's one-step arrays (next_w, cache)",
    async run(engine) {
      const cache = engine.tensor(course(0.6, 0.9), [4, 5]);
      await courseCase(engine, 'rmsprop', { learningRate: 1e-2, cache }, { learningRate: 1e-2, cache: course(0.6, 0.9) }, {
        nextW: [
          -0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247, -0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774,
          0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447, 0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619,
        ],
        cache: [
          0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321, 0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377,
          0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936, 0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926,
        ],
      });
    },
  },
  {
    name: "optim adam reproduces the course's one-step arrays (t = 5 → 6; next_w, m, v)",
    async run(engine) {
      const m = engine.tensor(course(0.6, 0.9), [4, 5]);
      const v = engine.tensor(course(0.7, 0.5), [4, 5]);
      const config: optim.AdamConfig = { learningRate: 1e-2, m, v, t: 5 };
      await courseCase(engine, 'adam', config, { learningRate: 1e-2, m: course(0.6, 0.9), v: course(0.7, 0.5), t: 5 }, {
        nextW: [
          -0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977, -0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929,
          0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969, 0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459,
        ],
        v: [
          0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853, 0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385,
          0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767, 0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966,
        ],
        m: [
          0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474, 0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316,
          0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158, 0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85,
        ],
      });
      expectTrue(config.t === 6, `adam: t = ${config.t}, expected 6`);
    },
  },
  {
    name: "optim sgdNesterovMomentum follows SPEC's formula (float64 host, 5 steps, given velocity)",
    async run(engine) {
      const rng = new Random(5);
      const n = 513;
      const w0 = f32Normals(rng, n);
      const v0 = f32Normals(rng, n, 0.1);
      const w = engine.tensor(w0, [27, 19]);
      const config: optim.MomentumConfig = { learningRate: 0.05, momentum: 0.8, velocity: engine.tensor(v0, [27, 19]) };
      const refW = Float64Array.from(w0);
      const refConfig: RefOptimConfig = { learningRate: 0.05, momentum: 0.8, velocity: Float64Array.from(v0) };
      for (let s = 0; s < 5; s++) {
        const g = f32Normals(rng, n);
        const dw = engine.tensor(g, [27, 19]);
        const before = Float64Array.from(refW);
        optim.sgdNesterovMomentum(w, dw, config);
        // SPEC, written out: vPrev = v; v = μ·v − lr·dw; w = w + v + μ·(v − vPrev).
        const v = refConfig.velocity!;
        for (let i = 0; i < n; i++) {
          const vPrev = v[i]!;
          v[i] = 0.8 * vPrev - 0.05 * g[i]!;
          refW[i] += v[i]! + 0.8 * (v[i]! - vPrev);
        }
        const got = await download(w);
        expectClose(got, refW, TOL.elementwise, `nesterov step ${s + 1}: w`);
        expectTrue(stepError(got, before, refW) <= STEP_TOL, `nesterov step ${s + 1}: the change is off by ${stepError(got, before, refW)}`);
        expectClose(await download(config.velocity!), v, TOL.elementwise, `nesterov step ${s + 1}: velocity`);
        dw.dispose();
      }
      // The shared reference agrees with the formula above.
      const check = Float64Array.from(w0);
      const checkConfig: RefOptimConfig = { learningRate: 0.05, momentum: 0.8, velocity: Float64Array.from(v0) };
      const rng2 = new Random(5);
      f32Normals(rng2, n);
      f32Normals(rng2, n, 0.1);
      for (let s = 0; s < 5; s++) refUpdate('sgdNesterovMomentum' as RefRule, check, f32Normals(rng2, n), checkConfig);
      expectClose(check, refW, 1e-14, 'reference nesterov vs the spelled-out formula');
      [w, config.velocity!].forEach((t) => t.dispose());
    },
  },
  ...RULES.map(referenceCase),
  ...(['rmsprop', 'adam'] as const).map(
    (rule): TestCase => ({
      name: `optim ${rule}: epsilon is the configured one, added after the square root (gradients from 1 down to 1e-8 and 0; epsilon 1e-8, 1e-4, 0.1)`,
      async run(engine) {
        // Where √(average of dw²) is near epsilon or below it, the step depends on epsilon: ignoring the
        // configured value, or writing √(v̂ + ε) for √v̂ + ε, changes it by 10× to 10⁴× there.
        const rng = new Random(rule.length + 500);
        const n = 45;
        for (const epsilon of [undefined, 1e-4, 0.1]) {
          const w0 = f32Normals(rng, n);
          // Element i's gradients have the scale 10^-(i mod 9); every 9th one is exactly 0.
          const scaled = () => Float64Array.from(f32Normals(rng, n, 1, 0.5), (g, i) => (i % 9 === 8 ? 0 : Math.fround(g * 10 ** -(i % 9))));
          const grads = [scaled(), scaled(), scaled()];
          const w = engine.tensor(w0, [5, 9]);
          const config: optim.OptimConfig = epsilon === undefined ? {} : { epsilon };
          const refConfig: RefOptimConfig = epsilon === undefined ? {} : { epsilon };
          const refW = Float64Array.from(w0);
          for (let s = 0; s < grads.length; s++) {
            const dw = engine.tensor(grads[s]!, [5, 9]);
            const before = Float64Array.from(refW);
            run(rule, w, dw, config);
            refUpdate(rule, refW, grads[s]!, refConfig);
            const got = await download(w);
            const what = `${rule} epsilon ${epsilon ?? 'default'} step ${s + 1}`;
            expectTrue(config.epsilon === (epsilon ?? 1e-8), `${what}: config.epsilon = ${config.epsilon}`);
            expectClose(got, refW, TOL.elementwise, `${what}: w`);
            expectTrue(stepError(got, before, refW) <= STEP_TOL, `${what}: the step's change is off by ${stepError(got, before, refW)}`);
            for (const key of STATE[rule]) expectClose(await download(config[key]!), refState(refConfig, key), TOL.elementwise, `${what}: ${key}`);
            dw.dispose();
          }
          w.dispose();
          for (const key of STATE[rule]) config[key]!.dispose();
        }
      },
    }),
  ),
  {
    name: 'optim sgd past 65535 workgroups (16,777,473 elements: the 2-D grid) matches float64',
    timeout: 240_000,
    async run(engine) {
      const n = 65535 * 256 + 513;
      const w0 = new Float32Array(n);
      const g = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        w0[i] = ((i * 7919) % 1000) / 500 - 1;
        g[i] = ((i * 104729) % 997) / 997 - 0.5;
      }
      const w = engine.tensor(w0);
      const dw = engine.tensor(g);
      optim.sgd(w, dw, { learningRate: 0.25 });
      const got = await w.read();
      const ref = new Float64Array(n);
      for (let i = 0; i < n; i++) ref[i] = w0[i]! - 0.25 * g[i]!;
      expectClose(got, ref, TOL.elementwise, 'sgd 2-D grid: w');
      // The last elements live in the second row of workgroups.
      const tail = Array.from({ length: 600 }, (_, k) => n - 600 + k);
      expectTrue(tail.every((i) => Math.abs(got[i]! - ref[i]!) <= 1e-6), 'sgd 2-D grid: the tail past 65535 workgroups was not updated');
      [w, dw].forEach((t) => t.dispose());
    },
  },
  {
    name: 'optim updating a slab\'s flat tensor equals updating each view separately (every rule, padding stays finite)',
    async run(engine) {
      const shapes = { W1: [7, 5], b1: [5], W2: [5, 3], b2: [3] };
      for (const rule of RULES) {
        const rng = new Random(RULES.indexOf(rule) + 90);
        const params = engine.slab(shapes, 'optim.params');
        const grads = engine.slab(shapes, 'optim.grads');
        const separate: Record<string, Tensor> = {};
        const separateConfigs: Record<string, optim.OptimConfig> = {};
        // Whole flat buffers written once, so the padding starts finite (zeros in both).
        const flatW = new Float32Array(params.flat.size);
        const flatDw = new Float32Array(grads.flat.size);
        engine.writeBuffer(params.flat.storage, flatW);
        engine.writeBuffer(grads.flat.storage, flatDw);
        for (const [name, shape] of Object.entries(shapes)) {
          const data = Float32Array.from(f32Normals(rng, shape.reduce((a, b) => a * b, 1)));
          engine.writeBuffer(params.views[name]!.storage, data, params.views[name]!.byteOffset);
          separate[name] = engine.tensor(data, shape);
          separateConfigs[name] = { learningRate: 0.03 };
        }
        const flatConfig: optim.OptimConfig = { learningRate: 0.03 };
        for (let s = 0; s < 3; s++) {
          const perView: Record<string, Tensor> = {};
          for (const [name, shape] of Object.entries(shapes)) {
            const data = Float32Array.from(f32Normals(rng, shape.reduce((a, b) => a * b, 1)));
            engine.writeBuffer(grads.views[name]!.storage, data, grads.views[name]!.byteOffset);
            perView[name] = engine.tensor(data, shape);
          }
          const dispatches = engine.stats().dispatches;
          run(rule, params.flat, grads.flat, flatConfig);
          expectTrue(engine.stats().dispatches === dispatches + 1, `${rule}: the flat update took more than one dispatch`);
          for (const name of Object.keys(shapes)) run(rule, separate[name]!, perView[name]!, separateConfigs[name]!);
          Object.values(perView).forEach((t) => t.dispose());
        }
        for (const key of STATE[rule]) {
          const t = flatConfig[key]!;
          expectTrue(t.rank === 1 && t.size === params.flat.size, `${rule}: flat state ${key} is [${t.shape}], expected [${params.flat.size}]`);
        }
        for (const name of Object.keys(shapes)) {
          const a = await params.views[name]!.read();
          const b = await separate[name]!.read();
          expectTrue(a.every((v, i) => v === b[i]), `${rule} ${name}: the flat update differs from the per-view update`);
        }
        const all = await params.flat.read();
        expectTrue(all.every(Number.isFinite), `${rule}: the flat w has non-finite values (padding)`);
        for (const key of STATE[rule]) {
          const state = await flatConfig[key]!.read();
          expectTrue(state.every(Number.isFinite), `${rule}: the flat ${key} has non-finite values (padding)`);
          // The state's views agree with the per-view state too.
          const offset = params.views.W2!.byteOffset / 4;
          const viewState = await separateConfigs.W2![key]!.read();
          expectTrue(viewState.every((v, i) => v === state[offset + i]), `${rule}: flat ${key} differs from W2's own ${key}`);
        }
        params.flat.dispose();
        grads.flat.dispose();
        Object.values(params.views).forEach((t) => t.dispose());
        Object.values(grads.views).forEach((t) => t.dispose());
        Object.values(separate).forEach((t) => t.dispose());
        for (const key of STATE[rule]) {
          flatConfig[key]!.dispose();
          Object.values(separateConfigs).forEach((c) => c[key]!.dispose());
        }
      }
    },
  },
  {
    name: 'optim adam captured once and replayed 3 times: t = 1..4, learningRate changed between replays, nothing new allocated',
    async run(engine) {
      const rng = new Random(77);
      const n = 1031;
      const w0 = f32Normals(rng, n);
      const g = f32Normals(rng, n, 0.5, 0.2);
      const w = engine.tensor(w0, [n]);
      const dw = engine.tensor(g, [n]);
      const config: optim.AdamConfig = { learningRate: 1e-2 };
      const refW = Float64Array.from(w0);
      const refConfig: RefOptimConfig = { learningRate: 1e-2 };
      // A temporary made and freed inside the capture: the state must not reuse its buffer.
      const step = engine.capture(() => {
        const scratch = engine.zeros([n], 'f32', 'optim.scratch');
        scratch.dispose();
        return optim.adam(w, dw, config);
      });
      refUpdate('adam', refW, g, refConfig);
      expectTrue(config.t === 1 && step.result.nextW === w, `after the capture t = ${config.t}`);
      expectClose(await download(w), refW, TOL.elementwise, 'captured adam, t = 1');
      const rates = [3e-2, 5e-3, 2e-2];
      let afterFirst = engine.stats();
      for (let r = 0; r < 3; r++) {
        config.learningRate = rates[r]!;
        refConfig.learningRate = rates[r]!;
        const before = Float64Array.from(refW);
        step.replay();
        refUpdate('adam', refW, g, refConfig);
        const got = await download(w);
        const t = r + 2;
        expectTrue(config.t === t, `replay ${r + 1}: t = ${config.t}, expected ${t}`);
        expectClose(got, refW, TOL.elementwise, `replay ${r + 1} (t = ${t}, lr = ${rates[r]}): w`);
        expectTrue(stepError(got, before, refW) <= STEP_TOL, `replay ${r + 1}: the step's change is off by ${stepError(got, before, refW)}`);
        expectClose(await download(config.m!), refConfig.m!, TOL.elementwise, `replay ${r + 1}: m`);
        expectClose(await download(config.v!), refConfig.v!, TOL.elementwise, `replay ${r + 1}: v`);
        if (r === 0) afterFirst = engine.stats();
      }
      const after = engine.stats();
      for (const key of ['buffersCreated', 'liveBuffers', 'pipelines', 'bindGroupsCreated', 'captures'] as const) {
        expectTrue(after[key] === afterFirst[key], `${key} ${afterFirst[key]} → ${after[key]} across replays`);
      }
      // A step bound to replaced state refuses to replay; disposing the step keeps the state alive.
      const m = config.m!;
      config.m = engine.tensor(new Float32Array(n));
      await expectThrows(() => step.replay(), /^shadergrad: adam: config\.m was replaced after the update was captured/, 'replay with a replaced m');
      config.m.dispose();
      config.m = m;
      config.learningRate = Number.NaN;
      await expectThrows(() => step.replay(), /^shadergrad: adam: learningRate must be a finite f32 number ≥ 0, got NaN/, 'replay with a NaN learning rate');
      step.dispose();
      expectClose(await download(config.m!), refConfig.m!, TOL.elementwise, 'm after the step was disposed');
      [w, dw, config.m!, config.v!].forEach((t) => t.dispose());
    },
  },
  {
    name: 'optim every rule captured from an empty config: state created once, continued on replay, learningRate dynamic',
    async run(engine) {
      for (const rule of RULES) {
        const rng = new Random(RULES.indexOf(rule) + 300);
        const n = 300;
        const w0 = f32Normals(rng, n);
        const grads = [f32Normals(rng, n), f32Normals(rng, n)];
        const w = engine.tensor(w0);
        const dws = grads.map((g) => engine.tensor(g));
        // The captured step updates with whichever gradient `current` holds: copy into it per replay.
        const current = engine.empty([n]);
        const config: optim.OptimConfig = {};
        const refW = Float64Array.from(w0);
        const refConfig: RefOptimConfig = {};
        engine.copy(dws[0]!, current);
        const step = engine.capture(() => run(rule, w, current, config));
        refUpdate(rule, refW, grads[0]!, refConfig);
        for (let r = 0; r < 4; r++) {
          config.learningRate = refConfig.learningRate = 0.02 * (r + 1);
          engine.copy(dws[(r + 1) % 2]!, current);
          step.replay();
          refUpdate(rule, refW, grads[(r + 1) % 2]!, refConfig);
        }
        expectClose(await download(w), refW, TOL.elementwise, `${rule} after 1 capture + 4 replays: w`);
        for (const key of STATE[rule]) expectClose(await download(config[key]!), refState(refConfig, key), TOL.elementwise, `${rule}: ${key}`);
        step.dispose();
        [w, current, ...dws].forEach((t) => t.dispose());
        for (const key of STATE[rule]) config[key]!.dispose();
      }
    },
  },
  {
    name: 'optim state created inside a capture that then throws is zeros for the next update (sgdMomentum, adam)',
    async run(engine) {
      for (const rule of ['sgdMomentum', 'adam'] as const) {
        const rng = new Random(rule.length);
        const n = 77;
        const w0 = f32Normals(rng, n);
        const g = f32Normals(rng, n);
        const w = engine.tensor(w0);
        const dw = engine.tensor(g);
        const config: optim.OptimConfig = { learningRate: 0.05 };
        await expectThrows(
          () =>
            engine.capture(() => {
              run(rule, w, dw, config);
              throw new Error('later op failed');
            }),
          /^later op failed$/,
          `${rule}: the failing capture`,
        );
        for (const key of STATE[rule]) {
          const state = await config[key]!.read();
          expectTrue(state.every((v) => v === 0), `${rule}: config.${key} is not zeros after the failed capture`);
        }
        expectClose(await download(w), w0, 0, `${rule}: w changed by a capture that failed`);
        // The host hook ran once (Adam's t counts it); the next update starts from zero state.
        const refW = Float64Array.from(w0);
        const refConfig: RefOptimConfig = { learningRate: 0.05, t: config.t };
        run(rule, w, dw, config);
        refUpdate(rule, refW, g, refConfig);
        expectClose(await download(w), refW, TOL.elementwise, `${rule}: the update after the failed capture`);
        [w, dw].forEach((t) => t.dispose());
        for (const key of STATE[rule]) config[key]!.dispose();
      }
    },
  },
  {
    name: 'optim bad inputs throw shadergrad: <rule>: errors before any GPU work',
    async run(engine) {
      const w = engine.tensor(new Float32Array(6), [2, 3]);
      const dw = engine.tensor(new Float32Array(6), [2, 3]);
      const other = engine.tensor(new Float32Array(6), [3, 2]);
      const labels = engine.tensor(new Int32Array(6), [2, 3]);
      const wrongState = engine.tensor(new Float32Array(6), [6]);
      const gone = engine.tensor(new Float32Array(6), [2, 3]);
      gone.dispose();
      const afterSetup = engine.stats();
      await expectThrows(() => optim.adam(w, other), /^shadergrad: adam: w f32 \[2, 3\] and dw f32 \[3, 2\] must have the same shape/, 'shape mismatch');
      const untouched: Record<string, unknown> = {};
      await expectThrows(() => optim.adam(w, other, untouched as never), /must have the same shape/, 'shape mismatch with a config');
      expectTrue(Object.keys(untouched).length === 0, `a refused update filled the caller's config: ${JSON.stringify(untouched)}`);
      await expectThrows(() => optim.sgd(labels, dw), /^shadergrad: sgd: w must be an f32 tensor, got i32 \[2, 3\]/, 'i32 w');
      await expectThrows(() => optim.rmsprop(w, labels), /^shadergrad: rmsprop: dw must be an f32 tensor/, 'i32 dw');
      await expectThrows(() => optim.sgdMomentum(w, dw, { velocity: wrongState }), /^shadergrad: sgdMomentum: config\.velocity is f32 \[6\] but must be shaped like w, f32 \[2, 3\]/, 'velocity shape');
      await expectThrows(() => optim.rmsprop(w, dw, { cache: wrongState }), /^shadergrad: rmsprop: config\.cache is f32 \[6\]/, 'cache shape');
      await expectThrows(() => optim.adam(w, dw, { m: wrongState, v: wrongState }), /^shadergrad: adam: config\.m is f32 \[6\]/, 'm shape');
      await expectThrows(() => optim.adam(w, dw, { m: other }), /^shadergrad: adam: config has m but not v/, 'm without v');
      await expectThrows(() => optim.adam(w, dw, { learningRate: -1e-3 }), /^shadergrad: adam: learningRate must be a finite f32 number ≥ 0, got -0\.001/, 'negative lr');
      await expectThrows(() => optim.adam(w, dw, { learningRate: Number.NaN }), /^shadergrad: adam: learningRate must be a finite f32 number ≥ 0, got NaN/, 'NaN lr');
      await expectThrows(() => optim.sgd(w, dw, { learningRate: '0.1' as unknown as number }), /^shadergrad: sgd: learningRate must be a finite f32 number ≥ 0, got "0\.1" \(string\)/, 'string lr');
      await expectThrows(() => optim.adam(w, dw, { beta1: 1 }), /^shadergrad: adam: beta1 must be a number in \[0, 1\)/, 'beta1 = 1');
      await expectThrows(() => optim.adam(w, dw, { t: 1.5 }), /^shadergrad: adam: t must be an integer ≥ 0/, 't = 1.5');
      await expectThrows(() => optim.rmsprop(w, dw, { decayRate: 1.5 }), /^shadergrad: rmsprop: decayRate must be a number in \[0, 1\]/, 'decayRate');
      await expectThrows(() => optim.sgdNesterovMomentum(w, dw, { momentum: -0.5 }), /^shadergrad: sgdNesterovMomentum: momentum must be a number in \[0, 1\]/, 'momentum');
      await expectThrows(() => optim.sgd(w, dw, { learning_rate: 0.1 } as unknown as optim.SgdConfig), /^shadergrad: sgd: config key 'learning_rate' is spelled 'learningRate'/, 'snake_case key');
      // A key the rule does not take is refused, not ignored with its default used in its place.
      await expectThrows(() => optim.sgd(w, dw, { lr: 0.5 } as never), /^shadergrad: sgd: unknown config key 'lr'; sgd takes learningRate$/, 'unknown key');
      await expectThrows(() => optim.adam(w, dw, { learningrate: 0.5 } as never), /^shadergrad: adam: unknown config key 'learningrate' \(did you mean 'learningRate'\?\)/, 'miscased key');
      await expectThrows(() => optim.sgd(w, dw, { momentum: 0.9 } as never), /^shadergrad: sgd: unknown config key 'momentum' \(it is sgdMomentum's and sgdNesterovMomentum's\)/, "another rule's key");
      // Values the f32 kernels would turn into NaN or Infinity.
      await expectThrows(() => optim.adam(w, dw, { epsilon: 0 }), /^shadergrad: adam: epsilon must be a normal f32 number > 0 \(1\.2e-38 to 3\.4e38\), got 0/, 'epsilon 0');
      await expectThrows(() => optim.rmsprop(w, dw, { epsilon: 1e-45 }), /^shadergrad: rmsprop: epsilon must be a normal f32 number > 0/, 'denormal epsilon');
      await expectThrows(() => optim.sgd(w, dw, { learningRate: 1e300 }), /^shadergrad: sgd: learningRate must be a finite f32 number ≥ 0, got 1e\+300/, 'lr past f32');
      await expectThrows(() => optim.sgd(w, w), /^shadergrad: sgd: dw shares its GPU buffer with w/, 'dw is w');
      await expectThrows(() => optim.sgdMomentum(w, dw, { velocity: w }), /^shadergrad: sgdMomentum: config\.velocity shares its GPU buffer with w/, 'velocity is w');
      await expectThrows(() => optim.sgd(w, dw, 0.1 as unknown as optim.SgdConfig), /^shadergrad: sgd: config must be an object, got number/, 'number config');
      await expectThrows(() => optim.sgd(w, null as unknown as Tensor), /^shadergrad: sgd: w and dw must be Tensors, got Tensor and null/, 'null dw');
      await expectThrows(() => optim.updateWith('nesterov' as RuleName, w, dw), /^shadergrad: optim: unknown update rule 'nesterov'/, 'unknown rule');
      await expectThrows(() => optim.sgd(w, gone), /^shadergrad: sgd: dw \[2, 3\] was disposed/, 'disposed dw');
      const now = engine.stats();
      expectTrue(now.dispatches === afterSetup.dispatches, 'a rejected call dispatched');
      expectTrue(now.buffersCreated === afterSetup.buffersCreated && now.liveBuffers === afterSetup.liveBuffers, 'a rejected call allocated');
      [w, dw, other, labels, wrongState].forEach((t) => t.dispose());
    },
  },
];
