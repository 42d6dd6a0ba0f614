// Shapes of the benchmark's results (the JSON that `npm run bench -- --json FILE` writes) and of its options.

export type Suite = 'matmul' | 'elementwise' | 'batchnorm' | 'softmax' | 'optimizer' | 'train';
export type Impl = 'shadergrad' | 'tfjs-webgpu' | 'jax-js';
/** How `ms` was measured: GPU timestamp queries around each dispatch, or wall clock around awaited submits. */
export type Timing = 'gpu-timestamp' | 'wall';

export const SUITES: readonly Suite[] = ['matmul', 'elementwise', 'batchnorm', 'softmax', 'optimizer', 'train'];
export const IMPLS: readonly Impl[] = ['shadergrad', 'tfjs-webgpu', 'jax-js'];

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
}

export interface Row {
  suite: Suite;
  /** Sizes in it ("1024x1024x1024", "784-512-256-10 b256 batchnorm dropout"). */
  case: string;
  impl: Impl;
  /** Milliseconds per run: the median of the samples, by `timing`. */
  ms: number;
  gflops?: number;
  gbps?: number;
  samplesPerSec?: number;
  timing: Timing;
  /** Wall clock per run (runs queued back to back, one awaited sync per sample): every row has it. */
  wallMs: number;
  /** Sum of the GPU timestamp intervals of the run's dispatches, where the adapter and implementation allow it. */
  gpuMs?: number;
  /** Smallest and largest sample of `ms`'s method. */
  spread: [number, number];
  samples: number;
  /** Runs per wall-clock sample. */
  reps: number;
  /** First run (pipeline compilation, capture), ms. */
  firstMs?: number;
  /** CPU ms inside one replay() of a captured step (hooks, uniform upload, encoding, submit): ours, train suite. */
  encodeMs?: number;
  /** Dispatches (and copies) per captured step: ours, train suite. */
  dispatches?: number;
  /**
   * The case's sizes and switches as fields, for tools that read the JSON (what `case` says in
   * words): matmul { M, K, N, transA, transB }, elementwise { op, n }, batchnorm { direction, N, D },
   * softmax { N, C }, optimizer { params }, train { model, batch, batchnorm, dropout }.
   */
  params?: Record<string, number | boolean | string>;
  note?: string;
}

/** A correctness check of a peer (or of us) against a reference, recorded in the output. */
export interface Check {
  name: string;
  impl: Impl;
  /** The scalar compared (a loss), or null where whole arrays were compared. */
  value: number | null;
  reference: number | null;
  /** What the reference is (a float64 CPU computation), or why the check could not run. */
  against: string;
  /** ‖value − reference‖ / ‖reference‖; null when the check could not run. */
  relErr: number | null;
  tolerance: number;
  ok: boolean;
  /**
   * The timed row whose output was checked (its suite and case; with `impl`, the row): present on
   * the checks at the timed sizes, absent on the agreement checks at small sizes run before the suites.
   */
  suite?: Suite;
  case?: string;
}

export interface ImplInfo {
  impl: Impl;
  version: string;
  /** The library's own backend/device name (tf.getBackend(), jax-js's array device). */
  backend: string;
  adapter?: AdapterSummary;
  timestampQuery: boolean;
  /** Why this implementation did not run (its rows are absent). */
  error?: string;
}

export interface Report {
  adapter: AdapterSummary;
  rows: Row[];
  checks: Check[];
  impls: ImplInfo[];
  /** Skipped or capped cases, and anything else a reader of the numbers should know. */
  notes: string[];
  environment: string;
  quick: boolean;
  startedAt: string;
  seconds: number;
}

export interface BenchOptions {
  quick: boolean;
  suites: readonly Suite[];
  impls: readonly Impl[];
  /** Only cases whose name contains one of these strings (empty: all). */
  filter: readonly string[];
  /** Where the run happens, for the report ("chromium 156 …", "node 20 + dawn"). */
  environment: string;
  /** Seconds after which the remaining cases are skipped (each noted), 0: no limit. */
  timeLimit: number;
}

/** Progress lines as the run goes. */
export type Log = (line: string) => void;
