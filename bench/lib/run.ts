// The benchmark run, the same in the browser page and in Node: opens every implementation, checks that they agree, then times each suite's cases side by side.

import { matmul as matmulReference, nd } from '../../src/reference/ndarray';
import { networkLoss } from '../../src/reference/network';
import { refUpdate } from '../../src/reference/optim';
import {
  ADAM,
  ALL_VARIANTS,
  DROPOUT_P,
  MODEL,
  MODEL_NAME,
  SQUARE_SIZES,
  elementwiseCases,
  flops,
  initialWeights,
  modelParams,
  seededArray,
  seededLabels,
  squareMatmul,
  stepMatmuls,
  trainCases,
  type ElementwiseCase,
  type MatmulCase,
  type TrainCase,
} from './cases';
import type { ImplBench, ReadableRunnable, TrainRunnable } from './impl';
import { measure, type Budget, type Measurement, type Runnable } from './measure';
import { relativeError } from '../../src/reference/gradcheck';
import { ShadergradBench } from './shadergrad';
import type { BenchOptions, Check, Impl, ImplInfo, Log, Report, Row, Suite } from './types';
import {
  adamReference,
  adamTolerance,
  batchnormReference,
  dropoutFractionTolerance,
  dropoutStats,
  matmulError,
  matmulTolerance,
  productReference,
  referenceFirstLoss,
  referenceNetwork,
  reluError,
  runningMeanError,
  softmaxReference,
  type ProductReference,
} from './verify';

/** What a row adds to its measurement: throughput figures from its ms. */
interface RowSpec {
  suite: Suite;
  case: string;
  impl: Impl;
  flops?: number;
  bytes?: number;
  samplesPerRun?: number;
  /** Time the training step by wall clock even where timestamps exist (a step's cost is more than its kernels). */
  wallOnly?: boolean;
  /** The case as fields (Row.params). */
  params?: Row['params'];
}

/** A check of one timed row's result: its name, impl, suite and case come from the row. */
type RowCheck = Omit<Check, 'ok' | 'impl' | 'suite' | 'case' | 'value' | 'reference' | 'relErr'> & { relErr: number; value?: number; reference?: number };

/** What a row checks of its own result, outside every timed interval (the runnable as it was timed, before it is freed). */
interface RowChecks<R extends Runnable> {
  /** The check's name, for the failure recorded when reading the result throws. */
  name: string;
  /** After the warm-up run (what only the first run shows: a train row's first-step loss). */
  afterFirst?: (r: R) => Promise<void>;
  /** After the row is timed: reads its output once and records checks. */
  verify: (r: R, record: (c: RowCheck) => void) => Promise<void>;
}

const MATMUL_TOLERANCE = 1e-4;
const LOSS_TOLERANCE = 1e-4;
/** After one Adam step the f32 implementations may differ a little more: Adam's first step is ±lr·sign(g) where |g| ≫ ε, and sensitive where g ≈ 0. */
const UPDATED_LOSS_TOLERANCE = 1e-3;
/** ReLU forward/backward and dropout's kept values are exact in f32 (a copy, a mask, a multiply by 2). */
const ELEMENTWISE_TOLERANCE = 1e-6;
/** Dropout's kept fraction over ELEMENTWISE_CHECK_N draws: 5σ of a binomial at p = 0.5 is ±7.8%. */
const DROPOUT_FRACTION_TOLERANCE = 0.1;
const ELEMENTWISE_CHECK_N = 4099;
/** SPEC.md's f32 bound for reductions (‖gpu − ref‖ / ‖ref‖): batchnorm's statistics, softmax's row sums. */
const REDUCTION_TOLERANCE = 1e-4;

/** A derived tolerance to two significant digits (as printed). */
const tol2 = (t: number) => Number(t.toPrecision(2));

/** One run of a fresh runnable, its result read back; the runnable is freed whatever happens. */
async function readOnce(make: () => ReadableRunnable): Promise<Float32Array> {
  const r = make();
  try {
    r.run();
    await r.sync();
    return await r.read();
  } finally {
    r.dispose();
  }
}

export class BenchRun {
  readonly rows: Row[] = [];
  readonly checks: Check[] = [];
  readonly notes: string[] = [];
  readonly impls: ImplInfo[] = [];
  private readonly benches = new Map<Impl, ImplBench>();
  private ours!: ShadergradBench;
  private cpu = false;
  private started = performance.now();
  private adapter: Report['adapter'] = { vendor: '', architecture: '', description: '' };
  private outOfTime = false;
  /** Time spent reading and checking the timed rows' results (outside every timed interval). */
  private checkMs = 0;

  constructor(
    readonly options: BenchOptions,
    readonly log: Log,
    /** Called with the report so far after each row (the Node entry rewrites its JSON: a crash keeps what ran). */
    readonly onProgress?: (report: Report) => void,
  ) {}

  /** The report as it stands. */
  report(): Report {
    return {
      adapter: this.adapter,
      rows: this.rows,
      checks: this.checks,
      impls: this.impls,
      notes: this.notes,
      environment: this.options.environment,
      quick: this.options.quick,
      startedAt: this.startedAt,
      seconds: Math.round((performance.now() - this.started) / 100) / 10,
    };
  }

  private startedAt = new Date().toISOString();

  private get budget(): Budget {
    if (this.cpu) return this.options.quick ? { sampleMs: 150, samples: 3, maxMs: 2500, maxReps: 50 } : { sampleMs: 300, samples: 5, maxMs: 6000, maxReps: 50 };
    return this.options.quick ? { sampleMs: 50, samples: 5, maxMs: 1500, maxReps: 500 } : { sampleMs: 100, samples: 7, maxMs: 3000, maxReps: 2000 };
  }

  private wanted(name: string): boolean {
    const f = this.options.filter;
    return !f.length || f.some((s) => name.includes(s));
  }

  async run(): Promise<Report> {
    this.started = performance.now();
    this.startedAt = new Date().toISOString();
    this.ours = await ShadergradBench.create();
    this.cpu = this.ours.engine.isCpuAdapter;
    const info = this.ours.info();
    this.adapter = info.adapter!;
    this.log(`adapter: ${[info.adapter!.vendor, info.adapter!.architecture, info.adapter!.description].filter(Boolean).join(' ')}${this.cpu ? ' (a CPU adapter: sizes capped)' : ''}`);
    if (this.options.impls.includes('shadergrad')) {
      this.benches.set('shadergrad', this.ours);
      this.impls.push(info);
    }
    for (const impl of this.options.impls) {
      if (impl === 'shadergrad') continue;
      try {
        const bench = impl === 'tfjs-webgpu' ? await (await import('./tfjs')).TfjsBench.create() : await (await import('./jax')).JaxBench.create();
        this.benches.set(impl, bench);
        const i = bench.info();
        this.impls.push(i);
        this.log(`${impl} ${i.version}: backend ${i.backend}, timestamp-query ${i.timestampQuery ? 'yes' : 'no'}`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.impls.push({ impl, version: '', backend: 'none', timestampQuery: false, error: message });
        this.notes.push(`${impl} did not run: ${message}`);
        this.log(`${impl}: not available: ${message}`);
        // A peer that was asked for and did not run fails the run: its rows are missing, not slower.
        this.failedCheck(`${impl} loads on WebGPU`, impl, error);
      }
    }
    this.notes.push(
      'ms: kernel suites use the sum of GPU timestamp intervals of the run\'s dispatches where the adapter and the library allow it ' +
        '(shadergrad: engine.profile; tfjs: tf.time kernelMs; jax-js: its profiler\'s timestamps), else wall clock; train rows are always wall clock ' +
        '(runs queued back to back, one awaited onSubmittedWorkDone/blockUntilReady per sample). Every row also has wallMs.',
    );
    await this.agreement();
    const suites = this.options.suites;
    if (suites.includes('matmul')) await this.matmulSuite();
    if (suites.includes('elementwise')) await this.elementwiseSuite();
    if (suites.includes('batchnorm')) await this.batchnormSuite();
    if (suites.includes('softmax')) await this.softmaxSuite();
    if (suites.includes('optimizer')) await this.optimizerSuite();
    if (suites.includes('train')) await this.trainSuite();
    const timedChecks = this.checks.filter((c) => c.suite != null).length;
    if (timedChecks) this.notes.push(`${timedChecks} checks of the timed rows' results (one read per row, float64 references) took ${(this.checkMs / 1000).toFixed(1)} s, outside the timed intervals`);
    for (const b of this.benches.values()) if (b !== this.ours) b.destroy();
    this.ours.destroy();
    const report = this.report();
    this.onProgress?.(report);
    return report;
  }

  // ---- measuring ------------------------------------------------------------------------------

  /**
   * Times one row. With `checks`, also reads the row's result — after the warm-up run
   * (`afterFirst`) and after the timing (`verify`), never inside a timed interval — from the
   * runnable as it was timed, before it is freed, and records the checks.
   */
  private async time<R extends Runnable>(spec: RowSpec, make: () => R, checks?: RowChecks<R>, budget: Budget = this.budget): Promise<Row | null> {
    const limit = this.options.timeLimit;
    if (limit && (performance.now() - this.started) / 1000 > limit) {
      if (!this.outOfTime) this.notes.push(`--time-limit ${limit} s reached: the cases below were not run`);
      this.outOfTime = true;
      this.skip(spec.impl, `${spec.suite} ${spec.case}`, 'time limit');
      return null;
    }
    let runnable: R | null = null;
    try {
      let m: Measurement;
      let extras: Record<string, number> = {};
      // What afterFirst threw: the row is timed all the same, the check fails.
      const first: { failed: boolean; error?: unknown } = { failed: false };
      try {
        const r = (runnable = make());
        const afterFirst = checks?.afterFirst;
        // Train rows: our step's kernel time too (informative); the peers' would only cost extra steps.
        m = await measure(r, budget, {
          timestamps: !spec.wallOnly || spec.impl === 'shadergrad',
          afterFirst: afterFirst
            ? async () => {
                const t0 = performance.now();
                await afterFirst(r).catch((error: unknown) => {
                  first.failed = true;
                  first.error = error;
                });
                this.checkMs += performance.now() - t0;
              }
            : undefined,
        });
        extras = r.extras?.() ?? {};
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.notes.push(`${spec.impl} ${spec.suite} ${spec.case}: failed: ${message}`);
        this.log(`  ${spec.impl.padEnd(12)} ${spec.case}: FAILED ${message}`);
        return null;
      }
      const row = this.addRow(spec, m, extras);
      if (checks) {
        const record = (c: RowCheck) =>
          this.check({ value: null, reference: null, ...c, tolerance: tol2(c.tolerance), impl: spec.impl, suite: spec.suite, case: spec.case });
        const t0 = performance.now();
        try {
          if (first.failed) throw first.error;
          await checks.verify(runnable, record);
        } catch (error) {
          // Reading or comparing the result failed: a failed check; the row stays.
          this.failedCheck(checks.name, spec.impl, error, spec);
        }
        this.checkMs += performance.now() - t0;
        this.onProgress?.(this.report());
      }
      return row;
    } finally {
      (runnable as R | null)?.dispose();
    }
  }

  /** The row of a measurement: timestamps where plausible, rates, our extras; logged and reported. */
  private addRow(spec: RowSpec, m: Measurement, extras: Record<string, number>): Row {
    // Timestamps are used where they exist and are plausible: a run's GPU time cannot exceed the wall
    // time of runs queued back to back (jax-js's read up to 2.3× its wall on SwiftShader), so above
    // wall by more than 10% the row falls back to wall clock and says so.
    const plausible = m.gpuMs != null && m.gpuMs <= m.wallMs * 1.1;
    if (m.gpuMs != null && !plausible && !spec.wallOnly) {
      this.notes.push(`${spec.impl} ${spec.suite} ${spec.case}: GPU timestamps (${round(m.gpuMs)} ms) exceed wall clock (${round(m.wallMs)} ms): wall clock used`);
    }
    const useGpu = plausible && !spec.wallOnly;
    const ms = useGpu ? m.gpuMs! : m.wallMs;
    const row: Row = {
      suite: spec.suite,
      case: spec.case,
      impl: spec.impl,
      ms: round(ms),
      timing: useGpu ? 'gpu-timestamp' : 'wall',
      wallMs: round(m.wallMs),
      ...(m.gpuMs != null ? { gpuMs: round(m.gpuMs) } : {}),
      spread: (useGpu ? m.gpuSpread! : m.wallSpread).map(round) as [number, number],
      // The samples behind `ms`: timestamped single runs, or wall samples of `reps` runs each.
      samples: useGpu ? m.gpuSamples : m.samples,
      reps: useGpu ? 1 : m.reps,
      firstMs: round(m.firstMs),
      ...(spec.params ? { params: spec.params } : {}),
    };
    // Rates only from a positive time (JSON would write Infinity as null).
    if (ms > 0 && spec.flops) row.gflops = round(spec.flops / ms / 1e6);
    if (ms > 0 && spec.bytes) row.gbps = round(spec.bytes / ms / 1e6);
    if (ms > 0 && spec.samplesPerRun) row.samplesPerSec = round((spec.samplesPerRun / ms) * 1000);
    if (spec.suite === 'train' && extras.encodeMs != null) row.encodeMs = round(extras.encodeMs);
    if (spec.suite === 'train' && extras.dispatches != null) row.dispatches = extras.dispatches;
    this.rows.push(row);
    this.onProgress?.(this.report());
    const rate = row.gflops != null ? `${row.gflops} GFLOP/s` : row.gbps != null ? `${row.gbps} GB/s` : row.samplesPerSec != null ? `${row.samplesPerSec} samples/s` : '';
    this.log(`  ${spec.impl.padEnd(12)} ${spec.case}: ${fmtMs(row.ms)} (${row.timing}) ${rate}`);
    return row;
  }

  private skip(impl: Impl, what: string, why: string): void {
    this.notes.push(`${impl} ${what}: skipped (${why})`);
    this.log(`  ${impl.padEnd(12)} ${what}: skipped (${why})`);
  }

  // ---- agreement checks -----------------------------------------------------------------------

  private async agreement(): Promise<void> {
    this.log('checks: every implementation against float64 references');
    for (const c of [
      { name: '64x70x33 NN', M: 64, K: 70, N: 33, transA: false, transB: false },
      { name: '64x70x33 TN', M: 64, K: 70, N: 33, transA: true, transB: false },
      { name: '64x70x33 NT', M: 64, K: 70, N: 33, transA: false, transB: true },
    ] satisfies MatmulCase[]) {
      const a = seededArray(c.M * c.K, 11);
      const b = seededArray(c.K * c.N, 12);
      const ref = matmulReference(nd(a, c.transA ? [c.K, c.M] : [c.M, c.K]), nd(b, c.transB ? [c.N, c.K] : [c.K, c.N]), c.transA, c.transB).data;
      for (const [impl, bench] of this.benches) {
        try {
          const got = await readOnce(() => bench.matmul(c, a, b));
          this.check({ name: `matmul ${c.name}`, impl, value: null, reference: null, against: 'float64 CPU', relErr: relativeError(got, ref), tolerance: MATMUL_TOLERANCE });
        } catch (error) {
          this.failedCheck(`matmul ${c.name}`, impl, error);
        }
      }
    }
    // Elementwise ops on an odd size: ReLU forward and backward against float64; dropout by what it
    // must do (each output 0 or x / (1 − p), about 1 − p of them kept), as the three draw differently.
    const n = ELEMENTWISE_CHECK_N;
    const x = seededArray(n, 31);
    const dy = seededArray(n, 32);
    const keep = 1 - DROPOUT_P;
    for (const op of ['relu-forward', 'relu-backward', 'dropout'] as const) {
      const c: ElementwiseCase = { name: `${op.replace('-', ' ')} ${n}`, op, n, bytes: 0 };
      for (const [impl, bench] of this.benches) {
        try {
          const got = await readOnce(() => bench.elementwise(c, x, dy));
          if (op !== 'dropout') {
            this.check({ name: c.name, impl, value: null, reference: null, against: 'float64 CPU', relErr: reluError(op, got, x, dy), tolerance: ELEMENTWISE_TOLERANCE });
            continue;
          }
          const { worst, fraction } = dropoutStats(got, x, keep);
          this.check({ name: `${c.name}: kept values are x / ${keep}`, impl, value: null, reference: null, against: 'float64 CPU', relErr: worst, tolerance: ELEMENTWISE_TOLERANCE });
          this.check({ name: `${c.name}: kept fraction`, impl, value: fraction, reference: keep, against: `p = ${DROPOUT_P}`, relErr: Math.abs(fraction - keep) / keep, tolerance: DROPOUT_FRACTION_TOLERANCE });
        } catch (error) {
          this.failedCheck(c.name, impl, error);
        }
      }
    }
    for (const batchnorm of [false, true]) {
      const c: TrainCase = { name: `${MODEL.inputDim}-${MODEL.hiddenDims.join('-')}-${MODEL.numClasses} b64${batchnorm ? ' batchnorm' : ''}`, batch: 64, batchnorm, dropout: false };
      const weights = initialWeights(batchnorm);
      const X = seededArray(c.batch * MODEL.inputDim, 21);
      const y = seededLabels(c.batch, MODEL.numClasses, 22);
      const [first, second] = referenceLosses(c, weights, X, y);
      for (const [impl, bench] of this.benches) {
        let r: ReturnType<ImplBench['train']> | null = null;
        try {
          r = bench.train(c, weights, X, y);
          r.run();
          await r.sync();
          const l1 = await r.loss();
          r.run();
          await r.sync();
          const l2 = await r.loss();
          this.check({ name: `train ${c.name}: first-step loss`, impl, value: l1, reference: first, against: 'float64 CPU', relErr: Math.abs(l1 - first) / Math.abs(first), tolerance: LOSS_TOLERANCE });
          this.check({ name: `train ${c.name}: loss after one Adam step`, impl, value: l2, reference: second, against: 'float64 CPU', relErr: Math.abs(l2 - second) / Math.abs(second), tolerance: UPDATED_LOSS_TOLERANCE });
        } catch (error) {
          this.failedCheck(`train ${c.name}`, impl, error);
        } finally {
          r?.dispose();
        }
      }
    }
  }

  private check(c: Omit<Check, 'ok' | 'relErr'> & { relErr: number }): void {
    const check: Check = { ...c, ok: c.relErr != null && c.relErr <= c.tolerance };
    this.checks.push(check);
    const value = c.value == null ? '' : ` ${c.value.toPrecision(8)} vs ${c.reference!.toPrecision(8)}`;
    this.log(`  ${check.ok ? 'ok  ' : 'FAIL'} ${c.impl.padEnd(12)} ${c.name}:${value} rel. error ${c.relErr!.toExponential(2)} (≤ ${c.tolerance})`);
  }

  private failedCheck(name: string, impl: Impl, error: unknown, row?: { suite: Suite; case: string }): void {
    const message = error instanceof Error ? error.message : String(error);
    this.checks.push({ name, impl, value: null, reference: null, against: `error: ${message}`, relErr: null, tolerance: 0, ok: false, ...(row ? { suite: row.suite, case: row.case } : {}) });
    this.log(`  FAIL ${impl.padEnd(12)} ${name}: ${message}`);
  }

  // ---- suites ---------------------------------------------------------------------------------

  private async matmulSuite(): Promise<void> {
    this.log('matmul (GFLOP/s)');
    const { quick } = this.options;
    const cases: MatmulCase[] = [];
    for (const n of SQUARE_SIZES) {
      // SwiftShader runs at a few GFLOP/s (tfjs at ~1): 2048³ would take ~4 s per run for us and ~18 s for tfjs.
      if (this.cpu && n > 1024) {
        if (this.wanted(`${n}x${n}x${n}`)) this.skip('shadergrad', `matmul ${n}x${n}x${n}`, `CPU adapter: 2048³ takes ~4 s per run for us, ~18 s for tfjs, 4096³ 8× that; every implementation skipped`);
        continue;
      }
      cases.push(squareMatmul(n));
    }
    const step = stepMatmuls(256);
    cases.push(...(quick ? [step[0]!, step[5]!, step[7]!] : step));
    for (const c of cases) {
      if (!this.wanted(c.name)) continue;
      const a = seededArray(c.M * c.K, 1);
      const b = seededArray(c.K * c.N, 2);
      // Each timed output against float64 — whole where M·N·K ≤ 2e8, else at 128×128 sampled
      // entries and, for a peer, whole against ours (kept from our row, which runs first).
      let reference: ProductReference | null = null;
      let ours: Float32Array | null = null;
      const label = `matmul ${c.name.includes(' ') ? c.name : `${c.name} NN`} at the timed size`;
      const tolerance = matmulTolerance(c.K);
      for (const [impl, bench] of this.benches) {
        if (this.cpu && quick && impl === 'tfjs-webgpu' && c.M * c.N * c.K > 512 ** 3) {
          this.skip(impl, `matmul ${c.name}`, '--quick on a CPU adapter: tfjs takes 2–3 s per 1024³ run here, and a row runs it at least 4 times');
          continue;
        }
        const params = { M: c.M, K: c.K, N: c.N, transA: c.transA, transB: c.transB };
        await this.time({ suite: 'matmul', case: c.name, impl, flops: flops(c), params }, () => bench.matmul(c, a, b), {
          name: label,
          verify: async (r, record) => {
            const got = await r.read();
            const ref = (reference ??= productReference(c, a, b));
            const name = ref.full ? label : `${label} (${ref.rows.length}x${ref.cols.length} sampled entries)`;
            record({ name, against: 'float64 CPU', relErr: matmulError(got, c, ref), tolerance });
            if (impl === 'shadergrad') ours = got;
            else if (!ref.full && ours) record({ name: `${label} (whole output)`, against: 'shadergrad', relErr: relativeError(got, ours), tolerance });
          },
        });
      }
    }
  }

  private async elementwiseSuite(): Promise<void> {
    this.log('elementwise (GB/s: bytes read + written once)');
    const sizes = this.options.quick ? [256 * 512, 1 << 22] : [256 * 512, 1 << 22, 1 << 24];
    const keep = 1 - DROPOUT_P;
    for (const c of elementwiseCases(sizes)) {
      if (!this.wanted(c.name)) continue;
      const x = seededArray(c.n, 3);
      const dy = seededArray(c.n, 4);
      const label = `${c.name} at the timed size`;
      // The same checks as the agreement checks at 4099 elements, on the timed output; the kept fraction within 5σ of the binomial at this n.
      const verify = async (r: ReadableRunnable, record: (c: RowCheck) => void) => {
        const got = await r.read();
        if (c.op !== 'dropout') {
          record({ name: label, against: 'float64 CPU', relErr: reluError(c.op, got, x, dy), tolerance: ELEMENTWISE_TOLERANCE });
          return;
        }
        const { worst, fraction } = dropoutStats(got, x, keep);
        record({ name: `${label}: kept values are x / ${keep}`, against: 'float64 CPU', relErr: worst, tolerance: ELEMENTWISE_TOLERANCE });
        record({ name: `${label}: kept fraction`, value: fraction, reference: keep, against: `p = ${DROPOUT_P}`, relErr: Math.abs(fraction - keep) / keep, tolerance: dropoutFractionTolerance(c.n, keep) });
      };
      for (const [impl, bench] of this.benches) {
        await this.time({ suite: 'elementwise', case: c.name, impl, bytes: c.bytes, params: { op: c.op, n: c.n } }, () => bench.elementwise(c, x, dy), { name: label, verify });
      }
    }
  }

  private async batchnormSuite(): Promise<void> {
    if (!this.benches.has('shadergrad')) return;
    this.log('batchnorm, train mode (GB/s: inputs read once + outputs written once)');
    const shapes = this.options.quick ? [[256, 512]] : [[256, 512], [1024, 512], [4096, 1024]];
    for (const [N, D] of shapes as Array<[number, number]>) {
      for (const direction of ['forward', 'backward'] as const) {
        const name = `${direction} ${N}x${D}`;
        if (!this.wanted(name)) continue;
        // forward: x in; out and xhat out. backward: dout and xhat in; dx out (gamma, stats: D-sized, ignored).
        const bytes = 12 * N * D;
        const x = seededArray(N * D, 5);
        const dout = seededArray(N * D, 6);
        // Ours only: against float64 (N·D ≤ 4M: cheap); the forward's running averages after as many
        // forwards as ran (each replay moves them), the mean's error relative to the mean of |x|.
        const label = `batchnorm ${name} at the timed size: ${direction === 'forward' ? 'out, running mean and variance (the largest error)' : 'dx, dgamma, dbeta (the largest error)'}`;
        await this.time({ suite: 'batchnorm', case: name, impl: 'shadergrad', bytes, params: { direction, N, D } }, () => this.ours.batchnorm(N, D, direction, x, dout), {
          name: label,
          verify: async (r, record) => {
            const got = await r.outputs();
            const ref = batchnormReference(N, D, x, direction === 'backward' ? dout : undefined, r.runs());
            const relErr =
              direction === 'forward'
                ? Math.max(relativeError(got.out!, ref.out), runningMeanError(got.runningMean!, ref), relativeError(got.runningVar!, ref.runningVar))
                : Math.max(relativeError(got.dx!, ref.dx!), relativeError(got.dgamma!, ref.dgamma!), relativeError(got.dbeta!, ref.dbeta!));
            record({ name: label, against: 'float64 CPU', relErr, tolerance: REDUCTION_TOLERANCE });
          },
        });
      }
    }
  }

  private async softmaxSuite(): Promise<void> {
    if (!this.benches.has('shadergrad')) return;
    this.log('softmax loss and gradient (GB/s: scores and labels read, dx written)');
    const shapes = this.options.quick ? [[256, 10], [1024, 1000]] : [[256, 10], [1024, 10], [4096, 1000]];
    for (const [N, C] of shapes as Array<[number, number]>) {
      const name = `${N}x${C}`;
      if (!this.wanted(name)) continue;
      const scores = seededArray(N * C, 7, 3);
      const labels = seededLabels(N, C, 8);
      // Ours only: the loss and dx against float64 (N·C ≤ 4M: cheap).
      const label = `softmax ${name} at the timed size`;
      await this.time({ suite: 'softmax', case: name, impl: 'shadergrad', bytes: 8 * N * C + 4 * N, params: { N, C } }, () => this.ours.softmax(N, C, scores, labels), {
        name: label,
        verify: async (r, record) => {
          const got = await r.outputs();
          const ref = softmaxReference(N, C, scores, labels);
          const loss = got.loss![0]!;
          record({ name: `${label}: loss`, value: loss, reference: ref.loss, against: 'float64 CPU', relErr: Math.abs(loss - ref.loss) / Math.abs(ref.loss), tolerance: LOSS_TOLERANCE });
          record({ name: `${label}: dx`, against: 'float64 CPU', relErr: relativeError(got.dx!, ref.dx), tolerance: REDUCTION_TOLERANCE });
        },
      });
    }
  }

  private async optimizerSuite(): Promise<void> {
    if (!this.benches.has('shadergrad')) return;
    this.log('optimizer: Adam, one flat dispatch (GB/s: w, dw, m, v read; w, m, v written)');
    const sizes = this.options.quick ? [1 << 20] : [1 << 20, modelParams(), 1 << 24];
    for (const n of sizes) {
      const name = `adam ${n === modelParams() ? `${n} (the ${MODEL.inputDim}-${MODEL.hiddenDims.join('-')}-${MODEL.numClasses} model)` : n === 1 << 20 ? '1M' : `${n >> 20}M`} params`;
      if (!this.wanted(name)) continue;
      const w = seededArray(n, 9);
      const dw = seededArray(n, 10, 1e-2);
      // Ours only: every run updated w again, config.t counts them; against the closed form of that many float64 steps.
      const label = `optimizer ${name} at the timed size: w after every timed update`;
      await this.time({ suite: 'optimizer', case: name, impl: 'shadergrad', bytes: 28 * n, params: { params: n } }, () => this.ours.adam(w, dw), {
        name: label,
        verify: async (r, record) => {
          const got = (await r.outputs()).w!;
          const steps = r.steps();
          const ref = adamReference(w, dw, steps);
          record({ name: label, against: `float64 CPU, ${steps} Adam steps`, relErr: relativeError(got, ref), tolerance: adamTolerance(w, ref, steps) });
        },
      });
    }
  }

  private async trainSuite(): Promise<void> {
    this.log(`train: ${MODEL.inputDim}-${MODEL.hiddenDims.join('-')}-${MODEL.numClasses}, softmax, Adam; one step = forward + backward + update`);
    const { quick } = this.options;
    const ours = quick
      ? [...trainCases([64, 256, 1024], [ALL_VARIANTS[0]!]), ...trainCases([256], ALL_VARIANTS.slice(1))]
      : trainCases([64, 256, 1024], ALL_VARIANTS);
    // Peers on a CPU adapter take seconds per step: plain at every batch, the variants at batch 256 (plain b256 only with --quick).
    const peerCase = (c: TrainCase) => !this.cpu || (quick ? c.batch === 256 && !c.batchnorm && !c.dropout : c.batch === 256 || (!c.batchnorm && !c.dropout));
    const order = [...ours].sort((a, b) => a.batch - b.batch);
    if (order.some((c) => c.dropout && this.wanted(c.name))) {
      this.notes.push('train rows with dropout: no first-step loss check (each implementation draws its own masks; the float64 reference has none)');
    }
    for (const c of order) {
      if (!this.wanted(c.name)) continue;
      const weights = initialWeights(c.batchnorm);
      const X = seededArray(c.batch * MODEL.inputDim, 31);
      const y = seededLabels(c.batch, MODEL.numClasses, 32);
      // The loss of the row's first run (the step before its first update) against a float64
      // forward of the same weights and batch: ≤ 5.5e8 multiply-adds at b1024, under a second here.
      let reference: number | null = null;
      const label = `train ${c.name}: first-step loss at the timed size`;
      for (const [impl, bench] of this.benches) {
        if (impl !== 'shadergrad' && !peerCase(c)) {
          this.skip(impl, `train ${c.name}`, `${quick ? '--quick ' : ''}on a CPU adapter: seconds per step`);
          continue;
        }
        const params = { model: MODEL_NAME, batch: c.batch, batchnorm: c.batchnorm, dropout: c.dropout };
        let first = NaN;
        const checks: RowChecks<TrainRunnable> | undefined = c.dropout
          ? undefined
          : {
              name: label,
              afterFirst: async (r) => {
                first = await r.loss();
              },
              verify: async (_r, record) => {
                const ref = (reference ??= referenceFirstLoss(c, weights, X, y));
                record({ name: label, value: first, reference: ref, against: 'float64 CPU', relErr: Math.abs(first - ref) / Math.abs(ref), tolerance: LOSS_TOLERANCE });
              },
            };
        await this.time({ suite: 'train', case: c.name, impl, samplesPerRun: c.batch, wallOnly: true, params }, () => bench.train(c, weights, X, y), checks);
      }
    }
  }
}

/** First-step loss and the loss after one Adam step, in float64, from the same weights and batch. */
function referenceLosses(c: TrainCase, weights: ReturnType<typeof initialWeights>, X: Float32Array, y: Int32Array): [number, number] {
  const net = referenceNetwork(c, weights);
  const Xn = nd(X, [c.batch, MODEL.inputDim]);
  const first = networkLoss(net, Xn, y);
  for (const [name, p] of Object.entries(net.params)) refUpdate('adam', p.data, first.grads[name]!.data, { ...ADAM });
  const second = networkLoss(net, Xn, y);
  return [first.loss, second.loss];
}

function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(x) || 1)));
  return Number(x.toFixed(Math.min(6, digits)));
}

export function fmtMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`;
}

export async function runBench(options: BenchOptions, log: Log, onProgress?: (report: Report) => void): Promise<Report> {
  return new BenchRun(options, log, onProgress).run();
}
