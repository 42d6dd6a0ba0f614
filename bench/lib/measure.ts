// Timing: a warm-up run, then the median of several samples — wall clock around awaited submits, and GPU timestamps where available.

/** One benchmarked operation, prepared (inputs uploaded, pipelines possibly not yet compiled). */
export interface Runnable {
  /** Queues one run on the GPU without waiting for it. */
  run(): void;
  /** Resolves when every queued run has finished on the GPU. */
  sync(): Promise<void>;
  /** Runs once more with GPU timestamp queries and returns the GPU milliseconds of its dispatches; null where unavailable. */
  gpuMs?(): Promise<number | null>;
  /** At most this many runs queued between syncs (a library that keeps every run's output until then). */
  maxReps?: number;
  /** Extra per-run figures the runnable measured itself (CPU encode ms per replay, dispatches). */
  extras?(): Record<string, number>;
  dispose(): void;
}

export interface Budget {
  /** Aim for wall-clock samples about this long (runs are repeated within a sample to get there). */
  sampleMs: number;
  /** Samples wanted (fewer when they would take longer than maxMs together, never under 3: a median rejects an outlier). */
  samples: number;
  /** Soft limit for all samples of one row. */
  maxMs: number;
  maxReps: number;
}

export interface Measurement {
  wallMs: number;
  wallSpread: [number, number];
  gpuMs: number | null;
  gpuSpread: [number, number] | null;
  samples: number;
  reps: number;
  /** Timestamped runs behind gpuMs (each one run of its own). */
  gpuSamples: number;
  firstMs: number;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const now = () => performance.now();

export interface MeasureOptions {
  /** Take GPU timestamps too (where the runnable offers them). */
  timestamps?: boolean;
  /** Called once after the warm-up run has finished, outside every timed interval (the train rows read their first-step loss here). */
  afterFirst?: () => Promise<void>;
}

export async function measure(r: Runnable, budget: Budget, { timestamps = true, afterFirst }: MeasureOptions = {}): Promise<Measurement> {
  let t0 = now();
  r.run();
  await r.sync();
  const firstMs = now() - t0;
  await afterFirst?.();
  // Runs per sample from the median of three single runs (one slow run sized a whole row's samples:
  // 2 runs per sample for one H200 train row against 41–135 for its siblings).
  const singles: number[] = [];
  for (let i = 0; i < 3; i++) {
    t0 = now();
    r.run();
    await r.sync();
    singles.push(now() - t0);
  }
  const one = Math.max(median(singles), 1e-3);
  const reps = Math.max(1, Math.min(budget.maxReps, r.maxReps ?? Infinity, Math.round(budget.sampleMs / one)));
  let samples = budget.samples;
  if (one * reps * samples > budget.maxMs) samples = Math.max(3, Math.floor(budget.maxMs / (one * reps)));
  const wall: number[] = [];
  for (let s = 0; s < samples; s++) {
    t0 = now();
    for (let i = 0; i < reps; i++) r.run();
    await r.sync();
    wall.push((now() - t0) / reps);
  }
  const gpu: number[] = [];
  if (r.gpuMs && timestamps) {
    // Each timestamped run is one more run: as many as the wall samples, at most 5.
    for (let s = 0; s < Math.max(3, Math.min(samples, 5)); s++) {
      const ms = await r.gpuMs();
      if (ms == null) break;
      // A zero (or negative) sum is a timer that did not resolve the work: not a measurement.
      if (ms > 0 && Number.isFinite(ms)) gpu.push(ms);
    }
  }
  return {
    wallMs: median(wall),
    wallSpread: [Math.min(...wall), Math.max(...wall)],
    gpuMs: gpu.length ? median(gpu) : null,
    gpuSpread: gpu.length ? [Math.min(...gpu), Math.max(...gpu)] : null,
    samples,
    reps,
    gpuSamples: gpu.length,
    firstMs,
  };
}
